"""Cards in the Dagster UI: the step's output metadata links each card's HTML and shows its text
and tables as Markdown; a flow_to_job run draws them like the CLI; bad @card values are refused
when the job is built."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from flowassets import FlowassetsError
from flowassets.translate.job import flow_to_job
from tests.cards.helpers import FLOWS
from tests.conftest import load_flow


def _output_metadata(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for event in result.all_node_events:
        if event.event_type_value == "STEP_OUTPUT":
            found.setdefault(event.step_key, {}).update(event.event_specific_data.metadata)
    return found


def test_step_output_metadata_links_cards_and_shows_their_text():
    flow = load_flow(FLOWS / "own_report_flow.py")
    result = flow_to_job(flow).execute_in_process(instance=dg.DagsterInstance.get())
    assert result.success
    meta = _output_metadata(result)

    start = meta["start"]
    link = start["card"]
    assert isinstance(link, dg.PathMetadataValue)
    assert Path(link.path).is_file() and "Scores" in Path(link.path).read_text()
    text = start["card (text)"]
    assert isinstance(text, dg.MarkdownMetadataValue)
    assert "# Scores" in text.md_str  # Markdown as written
    assert "| name | score |" in text.md_str and "| grace | 5 |" in text.md_str  # the Table
    assert "epochs: 7 / 10" in text.md_str and "image: pixel" in text.md_str
    assert "| scores | dict |" in text.md_str  # the default card's artifacts

    middle = meta["middle"]
    cards = {k for k in middle if k.startswith("card") and not k.endswith("(text)")}
    assert cards == {"card 2 notes", "card 2 summary"}
    assert "only in the notes" in middle["card 2 notes (text)"].md_str
    assert "total 8" in middle["card 2 summary (text)"].md_str
    assert "Card render failed" in meta["end"]["card (text)"].md_str  # the error card


@pytest.mark.parametrize(("flow", "needle"), [
    ("BadCardTypeFlow", "'my card'"), ("BadCardOptionsFlow", "'wide'"),
    ("BadCardArgumentFlow", "'colour'")])
def test_bad_card_values_are_refused_at_build_time(flow, needle):
    with pytest.raises(FlowassetsError) as caught:
        flow_to_job(load_flow(FLOWS / "bad_cards.py", flow))
    message = str(caught.value)
    assert flow in message and "start" in message and needle in message and "@card" in message


def test_several_cards_on_a_step_are_allowed_but_not_two_retries():
    with pytest.raises(FlowassetsError) as caught:
        flow_to_job(load_flow(FLOWS / "bad_cards.py", "TwoCardsTwoRetriesFlow"))
    message = str(caught.value)
    assert "@retry is applied twice" in message and "@card is applied twice" not in message
