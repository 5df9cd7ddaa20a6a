"""A report flow in flowassets' own API (its twin, metaflow_report_flow.py, is the same flow
written with `from metaflow import ...`)."""

from flowassets import FlowSpec, Parameter, card, catch, current, step
from flowassets.cards import Artifact, Image, Markdown, ProgressBar, Table, VegaChart

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5f0a3a80000000049454e44ae426082")


class OwnReportFlow(FlowSpec):
    alpha = Parameter("alpha", default=0.5)

    @card
    @step
    def start(self):
        self.scores = {"ada": 3, "grace": 5}
        current.card.append(Markdown("# Scores\nThe **best** is grace."))
        current.card.append(Table([["ada", 3], ["grace", 5]], headers=["name", "score"]))
        current.card.append(Artifact(self.scores, name="scores"))
        current.card.append(ProgressBar(max=10, value=7, label="epochs"))
        current.card.append(VegaChart({"mark": "bar", "data": {"values": [{"x": "a", "y": 3}]},
                                       "encoding": {"x": {"field": "x", "type": "nominal"},
                                                    "y": {"field": "y", "type": "quantitative"}}}))
        current.card.append(Image(PNG, label="pixel"))
        current.card.refresh()  # drawn once at the end: a no-op, never an error
        self.next(self.middle)

    @card(type="blank", id="notes", options={"title": "Notes"})
    @card(id="summary")
    @step
    def middle(self):
        self.total = sum(self.scores.values())
        current.card["notes"].append(Markdown("only in the notes"))
        current.card.append(Markdown("in the summary"))  # the only editable card without id... none
        current.card["summary"].append(Markdown(f"total {self.total}"))
        current.card["missing"].append(Markdown("dropped with a warning"))
        self.next(self.end)

    @card(type="no_such_card")
    @card(type="no_such_card", id="quiet", save_errors=False)
    @catch(var="failure")
    @step
    def end(self):
        self.done = True


if __name__ == "__main__":
    OwnReportFlow()
