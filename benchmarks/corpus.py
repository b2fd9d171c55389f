"""A deterministic corpus of N ideas (and about three comments each) as real content files.

Used by the build benchmark and by tests that compare warm and cold builds.
`python benchmarks/corpus.py OUT --ideas 1000 --seed 7` writes one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from generator.frontmatter import dump
from generator.schema import slugify

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TAGS = [
    "rotas",
    "e-rostering",
    "it-systems",
    "paperwork",
    "rest-breaks",
    "car-parking",
    "food-at-night",
    "mentoring",
    "apprenticeships",
    "leadership",
    "speaking-up",
    "recognition",
    "flexible-working",
    "wellbeing",
    "induction",
    "digital-skills",
    "reporting",
    "handover",
    "agency-staff",
    "night-shifts",
]
STATUSES = ["waiting"] * 5 + ["under-consideration"] * 3 + ["responded"] * 2 + ["adopted", "not-taken-forward"]
OPENERS = ["Every shift we", "On our ward we", "In community teams we", "At night we", "Most weeks we", "Our team"]
VERBS = ["lose time", "spend an hour", "wait", "struggle", "waste effort", "have to queue", "cannot get help"]
OBJECTS = [
    "logging in to five different systems",
    "finding a working computer",
    "chasing rota changes by text",
    "filling in the same form twice",
    "looking for somewhere to take a break",
    "finding a parking space",
    "getting a hot meal after 8pm",
    "booking mandatory training",
    "reporting a problem without blame",
    "getting feedback on our ideas",
    "swapping a shift with a colleague",
    "handing over between teams",
]
FIXES = [
    "A single sign-on would fix this.",
    "Let teams choose their own rota patterns.",
    "Give us protected time for it.",
    "Ask the people who do the job before buying a new system.",
    "Put it on the intranet where everyone can see it.",
    "Make managers accountable for it in their appraisals.",
    "A small budget for each ward would help.",
    "Other trusts already do this and it works.",
]
TITLE_STARTS = ["Better", "Simpler", "Fairer", "Faster", "Protected", "Shared", "Safer", "Clearer", "Local", "Flexible"]
TITLE_ENDS = [
    "rotas",
    "log-ins",
    "rest breaks",
    "handovers",
    "training time",
    "parking",
    "night food",
    "feedback",
    "recognition",
    "reporting",
    "induction",
    "mentoring",
    "shift swaps",
    "IT support",
    "paperwork",
]
NAMES = ["Asha", "Ben", "Ciara", "Dev", "Ewa", "Femi", "Grace", "Hamid", "Iona", "Jas", "Kelly", "Liam", "Mo", "Nia"]


def reference(rng: random.Random, used: set[str]) -> str:
    while True:
        ref = "TH-" + "".join(rng.choice(CROCKFORD) for _ in range(5))
        if ref not in used:
            used.add(ref)
            return ref


def paragraph(rng: random.Random, sentences: int) -> str:
    parts = []
    for _ in range(sentences):
        parts.append(f"{rng.choice(OPENERS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}.")
        if rng.random() < 0.4:
            parts.append(rng.choice(FIXES))
    return " ".join(parts)


def body(rng: random.Random) -> str:
    paragraphs = rng.choice([1, 1, 2, 3, 5, 8])
    text = "\n\n".join(paragraph(rng, rng.randint(2, 6)) for _ in range(paragraphs))
    if rng.random() < 0.3:
        text += "\n\nWhat would help:\n\n" + "\n".join(f"- {rng.choice(FIXES)}" for _ in range(rng.randint(2, 4)))
    return text + "\n"


def copy_base(out: Path) -> list[str]:
    """site.yml, the five challenges and the pages from the sample; returns the challenge slugs."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(PROJECT / "site.yml", out / "site.yml")
    shutil.copytree(PROJECT / "challenges", out / "challenges", dirs_exist_ok=True)
    shutil.copytree(PROJECT / "content" / "pages", out / "content" / "pages", dirs_exist_ok=True)
    return sorted(p.stem for p in (out / "challenges").glob("*.md"))


def make_corpus(out: Path, ideas: int, seed: int = 7, comments_per_idea: float = 3.0) -> Path:
    rng = random.Random(seed)
    challenges = copy_base(out)
    import yaml

    site = yaml.safe_load((out / "site.yml").read_text())
    roles, regions = site["roles"], site["regions"]
    used: set[str] = set()
    start = dt.date(2026, 10, 19)
    slugs: set[str] = set()
    for i in range(ideas):
        challenge = challenges[i % len(challenges)]
        title = f"{rng.choice(TITLE_STARTS)} {rng.choice(TITLE_ENDS)} for {rng.choice(['nurses', 'porters', 'paramedics', 'care workers', 'pharmacists', 'doctors', 'midwives', 'admin staff'])}"
        slug = slugify(f"{title} {i}")
        slugs.add(slug)
        submitted = start + dt.timedelta(days=rng.randint(0, 35))
        published = submitted + dt.timedelta(days=rng.randint(1, 5))
        status = rng.choice(STATUSES)
        data: dict = {
            "title": title,
            "challenge": challenge,
            "summary": paragraph(rng, 1)[:380],
            "submitted": submitted,
            "published": published,
            "reference": reference(rng, used),
        }
        if rng.random() < 0.5:
            data["attribution"] = rng.choice(NAMES)
        if rng.random() < 0.85:
            data["role"] = rng.choice(roles)
            data["region"] = rng.choice(regions)
        data["tags"] = sorted(rng.sample(TAGS, rng.randint(1, 4)))
        data["status"] = status
        if status in ("responded", "adopted", "not-taken-forward"):
            data["response"] = {"date": published + dt.timedelta(days=rng.randint(3, 20)), "text": paragraph(rng, 3), "by": "Workforce policy team"}
        path = out / "content" / "ideas" / challenge / f"{slug}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump(data, body(rng)), encoding="utf-8")
        count = rng.randint(0, int(comments_per_idea * 2)) if comments_per_idea else 0
        refs: list[str] = []
        for j in range(count):
            ref = reference(rng, used)
            comment: dict = {"target": f"idea:{slug}", "submitted": published + dt.timedelta(days=j), "reference": ref}
            if refs and rng.random() < 0.3:
                comment["reply_to"] = refs[0]
            else:
                refs.append(ref)
            if rng.random() < 0.5:
                comment["attribution"] = rng.choice(NAMES)
            cpath = out / "content" / "comments" / slug / f"{ref}.md"
            cpath.parent.mkdir(parents=True, exist_ok=True)
            cpath.write_text(dump(comment, paragraph(rng, rng.randint(1, 3)) + "\n"), encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--ideas", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    make_corpus(args.out, args.ideas, args.seed)
    print(f"wrote {args.ideas} ideas to {args.out}")


if __name__ == "__main__":
    main()
