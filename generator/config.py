"""site.yml: the site's settings, declared once with types, defaults and descriptions.

No secrets live here: tokens and keys come from the environment.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Organisation(Section):
    name: str = Field(default="Department of Health and Social Care", description="Who runs the consultation.")
    url: str = Field(
        default="https://www.gov.uk/government/organisations/department-of-health-and-social-care", description="The organisation's own website."
    )


class FooterLink(Section):
    text: str = Field(min_length=1, description="The link's text.")
    href: str = Field(min_length=1, description="A path on this site (/about/) or an https:// address.")


class GitHubSettings(Section):
    repository: str = Field(default="", pattern=r"^$|^[\w.-]+/[\w.-]+$", description="owner/name of the site's repository on GitHub.")
    base_branch: str = Field(default="main", description="Branch that pull requests target and the site is built from.")
    url: str | None = Field(default=None, description="GitHub Enterprise Server (or test server) address; empty for github.com.")


class Moderation(Section):
    duplicate_threshold: float = Field(
        default=0.6, ge=0.0, le=1.0, description="Similarity (0–1) above which a submission is flagged as a possible duplicate."
    )
    short_words: int = Field(default=8, ge=0, description="Ideas with fewer words than this are flagged as very short.")
    retention_days: int = Field(default=90, ge=1, description="Days the intake keeps contact details before purging them.")


class Publishing(Section):
    content_per_minute: int = Field(default=80, ge=1, description="Budget of content-creating forge requests per minute.")
    content_per_hour: int = Field(default=500, ge=1, description="Budget of content-creating forge requests per hour.")
    batch_size: int = Field(
        default=50,
        ge=2,
        le=200,
        description="Most submissions in one batched pull request, used when the queue holds more than the hourly budget can open one by one.",
    )


UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
"""A UUID as text, such as a GOV.UK Notify template ID."""


class NotifyTemplates(Section):
    """The GOV.UK Notify template ID of each email the intake sends (intake/notify/templates/ holds their texts)."""

    idea_published: str | None = Field(default=None, description='Template ID of the email "your idea is published".')
    idea_not_published: str | None = Field(default=None, description='Template ID of the email "your idea was not published".')
    idea_update: str | None = Field(
        default=None, description='Template ID of the email "there is news on your idea" (a change of status, a response or an update).'
    )
    comment_published: str | None = Field(default=None, description='Template ID of the email "your comment is published".')
    comment_not_published: str | None = Field(default=None, description='Template ID of the email "your comment was not published".')
    topic_published: str | None = Field(default=None, description='Template ID of the email "your topic is published".')
    topic_not_published: str | None = Field(default=None, description='Template ID of the email "your topic was not published".')

    @field_validator("*")
    @classmethod
    def _uuid(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(UUID, value):
            raise ValueError("not a GOV.UK Notify template ID: copy the ID (like 4f8e3a1c-…, 36 characters) from the template's page in Notify")
        return value


class NotifySettings(Section):
    templates: NotifyTemplates = Field(
        default_factory=NotifyTemplates, description="One template ID per email; all are needed once CONSULT_NOTIFY_API_KEY is set."
    )


class SiteConfig(Section):
    """The keys of site.yml."""

    title: str = Field(default="Talk Health and Care", description="The site's name, in the header and page titles.")
    tagline: str = Field(
        default="Share your ideas to make working in health and care better", description="One line under the title on the home page."
    )
    base_url: str = Field(default="http://localhost:8000", description="Public address of the site, without a trailing slash.")
    language: str = Field(default="en-GB", description="Language of the content (BCP 47), set on every page.")
    timezone: str = Field(default="Europe/London", description="Time zone for event times.")
    organisation: Organisation = Field(default_factory=Organisation, description="Who runs the consultation.")
    intake_url: str = Field(default="/intake", description="Public address of the intake service the forms post to.")
    roles: list[str] = Field(
        default_factory=lambda: [
            "Nurse",
            "Doctor",
            "Allied health professional",
            "Healthcare assistant",
            "Paramedic",
            "Pharmacist",
            "Social care worker",
            "Administrative or clerical",
            "Estates and facilities",
            "Manager",
            "Other",
        ],
        description="Staff roles offered on the form.",
    )
    regions: list[str] = Field(
        default_factory=lambda: [
            "East of England",
            "London",
            "Midlands",
            "North East and Yorkshire",
            "North West",
            "South East",
            "South West",
            "Scotland",
            "Wales",
            "Northern Ireland",
        ],
        description="Regions offered on the form.",
    )
    footer_links: list[FooterLink] = Field(default_factory=list, description="Extra links in the footer, after the static pages.")
    ideas_per_page: int = Field(default=20, ge=5, le=200, description="Ideas per page on challenge listings.")
    search_part_ideas: int = Field(
        default=500,
        ge=10,
        description="Ideas per part of the search index. The index is built in parts that the search page merges, and an edit re-indexes only the part its page is in: smaller parts make an edit quicker to index, larger ones make a search fetch fewer files.",
    )
    licence: str = Field(default="Open Government Licence v3.0", description="Licence of the open data exports.")
    licence_url: str = Field(
        default="https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/", description="Where the licence is published."
    )
    forge: Literal["local", "github"] = Field(default="local", description="Where submissions go: `local` git branches or `github` pull requests.")
    github: GitHubSettings = Field(default_factory=GitHubSettings, description="GitHub repository settings, used when forge is github.")
    moderation: Moderation = Field(default_factory=Moderation, description="Automated moderation settings.")
    publishing: Publishing = Field(default_factory=Publishing, description="Forge request budgets.")
    notify: NotifySettings = Field(
        default_factory=NotifySettings, description="GOV.UK Notify, which sends the emails people ask for (the API key comes from the environment)."
    )

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("roles", "regions")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        seen = {v.casefold() for v in values}
        if len(seen) != len(values):
            raise ValueError("the list has the same entry twice")
        return values
