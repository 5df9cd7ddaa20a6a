"""Cards (@card): reports a step draws when it ends, kept in the store next to its task.

    from flowassets import FlowSpec, card, current, step
    from flowassets.cards import Markdown, Table

    @card
    @step
    def train(self):
        current.card.append(Markdown("# Loss"))
        current.card.append(Table([[1, 0.5]], headers=["epoch", "loss"]))

The components mirror Metaflow's (``metaflow.cards``) and need no Metaflow; unchanged Metaflow
flows use Metaflow's own components and card types. See ``render.py`` for when cards are drawn.
"""

from .components import Artifact, Component, Image, Markdown, ProgressBar, Table, VegaChart

__all__ = ["Artifact", "Component", "Image", "Markdown", "ProgressBar", "Table", "VegaChart"]
