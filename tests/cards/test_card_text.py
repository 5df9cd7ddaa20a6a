"""The pieces a card is made of, without a run: components as Metaflow's JSON, the HTML page,
the Markdown the Dagster UI shows, and `current.card`'s rule for where `append` goes."""

from __future__ import annotations

from flowassets.cards import Artifact, Markdown, ProgressBar, Table
from flowassets.cards.collector import CardCollector, CardSlot
from flowassets.cards.html import markdown_to_html, page
from flowassets.cards.summary import MAX_CHARS, card_markdown


def _slot(card_type: str, card_id: str | None) -> CardSlot:
    return CardSlot(card_type, card_id, {}, 45, True, f"{card_type}{card_id}")


def test_components_have_metaflows_json_shapes():
    assert Markdown("# a").render()["source"] == "# a"
    table = Table([[1, Markdown("*x*")]], headers=["n", "m"]).render()
    assert table["columns"] == ["n", "m"] and table["data"][0][1]["type"] == "markdown"
    assert Artifact({"k": 1}, name="d").render()["data"] == [{"name": "d", "type": "dict",
                                                              "data": "{'k': 1}"}]
    assert ProgressBar(max=4, value=1, label="x").render()["max"] == 4


def test_markdown_subset_and_escaping():
    out = markdown_to_html("# Title\n\n- one\n- **two**\n\ntext with <b> and `code`\n```\nx < y\n```")
    assert "<h1>Title</h1>" in out and "<li><strong>two</strong></li>" in out
    assert "&lt;b&gt;" in out and "<code>code</code>" in out and "x &lt; y" in out
    assert "<script>" not in page("<script>", [Markdown("<script>").render()])


def test_summary_tables_escape_pipes_and_stay_bounded():
    text = card_markdown("t", [Table([["a|b", 1]], headers=["x", "y"]).render()])
    assert "| a\\|b | 1 |" in text
    long = card_markdown("t", [Markdown("x" * (MAX_CHARS * 2)).render()])
    assert len(long) <= MAX_CHARS and "shortened" in long


def test_append_goes_to_the_one_editable_card_or_is_dropped(capsys):
    one = CardCollector([_slot("default", None), _slot("error_free_custom", "c")])
    one.append(Markdown("x"))
    assert [len(s.components) for s in one.slots] == [1, 0]
    one["c"].append(Markdown("y"))  # any card, editable or not, by its id
    assert [len(s.components) for s in one.slots] == [1, 1]
    two_ids = CardCollector([_slot("default", "a"), _slot("blank", "b")])
    two_ids.append(Markdown("z"))
    assert all(not s.components for s in two_ids.slots)
    assert "[@card WARNING]" in capsys.readouterr().err
    one_without_id = CardCollector([_slot("default", "a"), _slot("blank", None)])
    one_without_id.append(Markdown("z"))
    assert [len(s.components) for s in one_without_id.slots] == [0, 1]
