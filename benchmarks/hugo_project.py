"""Write a Hugo project that builds the same pages as `consult build` from the same corpus.

Pages compared: an idea page (with its comments), the paginated challenge
listing, tag pages, and an Atom feed per challenge. The corpus's idea files
are used as they are (Hugo reads the same YAML front matter); comments become
one data file per idea, since Hugo has no cheap way to join pages by a key.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from generator.frontmatter import parse

CONFIG = {
    "baseURL": "http://localhost:8000/",
    "languageCode": "en-gb",
    "title": "Talk Health and Care",
    "disableKinds": ["RSS", "sitemap", "robotsTXT", "404"],
    "pagination": {"pagerSize": 10},
    "paginate": 10,
    "uglyURLs": False,
    "buildFuture": True,
    "taxonomies": {"tag": "tags"},
    "outputFormats": {"Atom": {"mediaType": "application/atom+xml", "baseName": "feed", "isPlainText": False}},
    "mediaTypes": {"application/atom+xml": {"suffixes": ["xml"]}},
    "outputs": {"home": ["HTML"], "section": ["HTML", "Atom"], "taxonomy": ["HTML"], "term": ["HTML"], "page": ["HTML"]},
    "markup": {"goldmark": {"renderer": {"unsafe": False}}},
    "permalinks": {"ideas": "/ideas/:filename/"},
}

BASEOF = """<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>{{ .Title }} – {{ site.Title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/assets/consult.css"></head>
<body><a class="nhsuk-skip-link" href="#maincontent">Skip to main content</a>
<header class="nhsuk-header"><div class="nhsuk-width-container"><a href="/">{{ site.Title }}</a></div>
<nav aria-label="Main menu"><ul><li><a href="/challenges/">Challenges</a></li><li><a href="/ideas/">Ideas</a></li><li><a href="/events/">Events</a></li><li><a href="/share/">Share your idea</a></li></ul></nav></header>
<div class="nhsuk-width-container"><main id="maincontent">{{ block "main" . }}{{ end }}</main></div>
<footer><ul><li><a href="/about/">About</a></li><li><a href="/privacy/">Privacy</a></li></ul></footer></body></html>
"""

SINGLE = """{{ define "main" }}<article><h1>{{ .Title }}</h1><p><strong class="nhsuk-tag">{{ .Params.status }}</strong></p>
<p class="nhsuk-lede-text">{{ .Params.summary }}</p>
<dl><dt>Shared by</dt><dd>{{ with .Params.attribution }}{{ . }}{{ else }}Anonymous{{ end }}</dd>
{{ with .Params.role }}<dt>Role</dt><dd>{{ . }}</dd>{{ end }}{{ with .Params.region }}<dt>Region</dt><dd>{{ . }}</dd>{{ end }}
<dt>Reference</dt><dd>{{ .Params.reference }}</dd></dl>
<h2>The idea</h2>{{ .Content }}
<ul>{{ range .Params.tags }}<li><a href="/tags/{{ . | urlize }}/">{{ . }}</a></li>{{ end }}</ul>
{{ with .Params.response }}<h2>Our response</h2>{{ .text | markdownify }}<p>{{ .by }}</p>{{ end }}
</article>
<section><h2>Discussion</h2>{{ with index site.Data.comments .File.ContentBaseName }}<ol>{{ range . }}<li><p><strong>{{ with .attribution }}{{ . }}{{ else }}Anonymous{{ end }}</strong>, {{ .submitted }}</p>{{ .body | markdownify }}</li>{{ end }}</ol>{{ else }}<p>No comments yet.</p>{{ end }}</section>
<h2>Related ideas</h2><ul>{{ $self := .Permalink }}{{ range first 4 .CurrentSection.RegularPages }}{{ if ne .Permalink $self }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}{{ end }}</ul>
{{ end }}
"""

LIST = """{{ define "main" }}<h1>{{ .Title }}</h1>{{ .Content }}
<ul>{{ range (.Paginate .RegularPages).Pages }}<li class="nhsuk-card"><h3><a href="{{ .RelPermalink }}">{{ .Title }}</a></h3><p>{{ .Params.summary }}</p><p><strong>{{ .Params.status }}</strong> · {{ .Params.published }}</p></li>{{ end }}</ul>
{{ with .Paginator }}<nav>{{ if .HasPrev }}<a href="{{ .Prev.URL }}">Previous</a>{{ end }} Page {{ .PageNumber }} of {{ .TotalPages }} {{ if .HasNext }}<a href="{{ .Next.URL }}">Next</a>{{ end }}</nav>{{ end }}
{{ end }}
"""

TERM = """{{ define "main" }}<h1>Ideas tagged “{{ .Title }}”</h1>
<ul>{{ range (.Paginate .Pages).Pages }}<li><h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2><p>{{ .Params.summary }}</p></li>{{ end }}</ul>
{{ with .Paginator }}<nav>Page {{ .PageNumber }} of {{ .TotalPages }}</nav>{{ end }}{{ end }}
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>{{ .Title }} – {{ site.Title }}</title><id>{{ .Permalink }}</id><link href="{{ .Permalink }}"/>
<updated>{{ now.Format "2006-01-02T15:04:05Z07:00" }}</updated>
{{ range first 50 .RegularPages }}<entry><title>{{ .Title }}</title><link href="{{ .Permalink }}"/><id>{{ .Permalink }}</id><updated>{{ .Params.published }}T00:00:00Z</updated><summary>{{ .Params.summary }}</summary></entry>{{ end }}
</feed>
"""


def write_hugo_project(corpus: Path, out: Path) -> Path:
    """Hugo project at out, built from the corpus at corpus."""
    if out.exists():
        shutil.rmtree(out)
    (out / "layouts" / "_default").mkdir(parents=True)
    (out / "hugo.yaml").write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    layouts = out / "layouts" / "_default"
    layouts.joinpath("baseof.html").write_text(BASEOF)
    layouts.joinpath("single.html").write_text(SINGLE)
    layouts.joinpath("list.html").write_text(LIST)
    layouts.joinpath("term.html").write_text(TERM)
    layouts.joinpath("taxonomy.html").write_text(LIST)
    layouts.joinpath("section.atom.xml").write_text(ATOM)
    layouts.joinpath("list.atom.xml").write_text(ATOM)
    shutil.copytree(corpus / "content" / "ideas", out / "content" / "ideas")
    for challenge in (corpus / "challenges").glob("*.md"):
        doc = parse(challenge.read_text())
        index = out / "content" / "ideas" / challenge.stem / "_index.md"
        index.parent.mkdir(parents=True, exist_ok=True)
        index.write_text("---\n" + yaml.safe_dump({"title": doc.data["title"]}) + "---\n" + doc.body)
    comments: dict[str, list[dict]] = {}
    for path in sorted((corpus / "content" / "comments").glob("*/*.md")):
        doc = parse(path.read_text())
        comments.setdefault(path.parent.name, []).append(
            {"attribution": doc.data.get("attribution"), "submitted": str(doc.data["submitted"]), "body": doc.body}
        )
    data = out / "data" / "comments"
    data.mkdir(parents=True)
    for slug, items in comments.items():
        (data / f"{slug}.json").write_text(json.dumps(items))
    return out
