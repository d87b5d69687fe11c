"""The RCA as a Markdown document: for the thread export and ``triage-bot rca``."""

from __future__ import annotations

from bot.models import SECTION_TITLES, Citation, Incident, Rca, Section


def _citation(c: Citation) -> str:
    e = c.evidence
    where = ""
    if e.window is not None:
        where = f", {e.window.start:%Y-%m-%d %H:%M}–{e.window.end:%H:%M} UTC"
    query = f"\n    query: `{e.query}`" if e.query else ""
    return (f"{c.number}. {c.step.value} step, {c.finding}: **{e.label} = {e.value}** "
            f"(source: {e.source}{where}){query}")


def to_markdown(incident: Incident, rca: Rca) -> str:
    """Headings per section, who edited what, and the numbered citations with their queries."""
    lines = [f"# RCA {incident.id}: {incident.summary}", "",
             f"- Service: {incident.service or 'unmapped'}",
             f"- Severity: {incident.severity.value}; status: {incident.status.value}",
             f"- Declared: {incident.created_at:%Y-%m-%d %H:%M} UTC",
             f"- Leading pattern: {rca.playbook or 'none established'}",
             f"- Drafted: {rca.drafted_at:%Y-%m-%d %H:%M} UTC (version {rca.version})", ""]
    for section in Section:
        text = rca.sections.get(section)
        lines.append(f"## {SECTION_TITLES[section]}")
        if text is not None and text.origin == "human" and text.edited_by:
            lines.append(f"_written by {text.edited_by}_")
        body = text.text if text is not None and text.text.strip() else "_(empty)_"
        if section is Section.TIMELINE and text is not None and text.text.strip():
            body = "```\n" + text.text + "\n```"
        lines += [body, ""]
    if rca.citations:
        lines.append("## Evidence cited")
        lines += [_citation(c) for c in rca.citations]
        lines.append("")
    return "\n".join(lines)
