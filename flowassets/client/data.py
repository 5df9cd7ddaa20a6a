"""A task's artifacts in Metaflow's client shape: ``task["name"].data`` and ``task.data.name``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Task


class DataArtifact:
    def __init__(self, task: Task, name: str):
        self.task = task
        self.id = name
        self.ref = task.record.artifacts[name]

    @property
    def data(self) -> Any:
        return self.task.step.run.store.load(self.ref, self.id)

    @property
    def sha(self) -> str:
        return self.ref.sha

    @property
    def size(self) -> int:
        return self.ref.size

    def __repr__(self) -> str:
        return f"DataArtifact('{self.task.pathspec}/{self.id}')"


class DataView:
    """``task.data.name`` reads one artifact; ``dir()`` lists them."""

    def __init__(self, task: Task):
        self.__dict__["_task"] = task

    def __getattr__(self, name: str) -> Any:
        task = self.__dict__["_task"]
        if name not in task.record.artifacts:
            raise AttributeError(f"task {task.pathspec} has no artifact {name!r}")
        return task[name].data

    def __contains__(self, name: str) -> bool:
        return name in self.__dict__["_task"].record.artifacts

    def __dir__(self) -> list[str]:
        return self.__dict__["_task"].artifacts

    def __repr__(self) -> str:
        return f"<data of {self.__dict__['_task'].pathspec}: {', '.join(self.__dir__())}>"
