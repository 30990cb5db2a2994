"""The subtasks of a multi-agent run: status, dependencies, results.

Every change is persisted as it happens (a crash leaves the task list as it
was) and reported as ``task.created`` / ``task.updated``; the manager returns
the event so the agent that caused the change yields it.
"""

from __future__ import annotations

from sagents.events import TaskCreated, TaskStatus, TaskUpdated
from sagents.store.protocol import Store
from sagents.store.records import TaskRecord, now

FINAL_STATUSES: frozenset[str] = frozenset({"done", "failed", "skipped"})


class TaskManager:
    def __init__(self, session_id: str, run_id: str, store: Store) -> None:
        self.session_id = session_id
        self.run_id = run_id
        self.store = store
        self.tasks: dict[str, TaskRecord] = {}
        self.current: str | None = None
        """The task the plan–execute–observe–judge loop is working on."""
        self.attempts: dict[str, int] = {}

    def _task_id(self, local_id: str) -> str:
        # Task ids are unique per session; the model's ids ("1", "t1") repeat
        # across runs, so they are scoped by the run.
        return f"{self.run_id[-8:]}.{local_id}"

    async def create(
        self, local_id: str, title: str, description: str = "", depends_on: list[str] | None = None
    ) -> TaskCreated:
        task = TaskRecord(
            id=self._task_id(local_id),
            session_id=self.session_id,
            title=title,
            description=description,
            depends_on=[self._task_id(d) for d in depends_on or []],
            run_id=self.run_id,
        )
        self.tasks[task.id] = task
        await self.store.upsert_task(task)
        return TaskCreated(
            task_id=task.id,
            title=task.title,
            description=task.description,
            depends_on=task.depends_on,
        )

    async def update(self, task_id: str, status: TaskStatus, result: str = "") -> TaskUpdated:
        task = self.tasks[task_id]
        task.status = status
        if result:
            task.result = result
        task.updated_at = now()
        await self.store.upsert_task(task)
        return TaskUpdated(task_id=task.id, title=task.title, status=status, result=task.result)

    def _deps(self, task: TaskRecord) -> list[str]:
        return [d for d in task.depends_on if d in self.tasks]

    def ready(self) -> list[TaskRecord]:
        """Open tasks whose dependencies are all done, in creation order."""
        return [
            t
            for t in self.tasks.values()
            if t.status in ("pending", "running")
            and all(self.tasks[d].status == "done" for d in self._deps(t))
        ]

    def blocked(self) -> list[TaskRecord]:
        """Open tasks that can never run because a dependency did not succeed."""
        return [
            t
            for t in self.tasks.values()
            if t.status not in FINAL_STATUSES
            and any(
                self.tasks[d].status in ("failed", "skipped")
                for d in t.depends_on
                if d in self.tasks
            )
        ]

    def open(self) -> list[TaskRecord]:
        return [t for t in self.tasks.values() if t.status not in FINAL_STATUSES]

    def all_finished(self) -> bool:
        return bool(self.tasks) and not self.open()

    def get(self, task_id: str | None) -> TaskRecord | None:
        return self.tasks.get(task_id) if task_id else None

    def resolve(self, ref: str) -> TaskRecord | None:
        """A task by its full id or by the model's local id."""
        return self.tasks.get(ref) or self.tasks.get(self._task_id(ref))

    def describe(self) -> str:
        """The task list as the planner, judge and summary see it."""
        lines = []
        for t in self.tasks.values():
            deps = f" (after {', '.join(t.depends_on)})" if t.depends_on else ""
            result = f"\n    result: {t.result}" if t.result else ""
            lines.append(f"- [{t.status}] {t.id}: {t.title}{deps}{result}")
        return "\n".join(lines) or "(no tasks)"
