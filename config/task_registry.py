"""Handing work to tasks without importing their modules: an app's tasks module imports the
services it wraps, so the services ask Celery's registry for a task by its name instead (the
same task object, so eager mode, routing and the test doubles set on it all apply). Outside a
worker, Celery imports the apps' tasks modules only when asked, so the module is imported here
on first use."""

from __future__ import annotations

import importlib

from celery import current_app


def task(module: str, name: str):
    """The registered task `<module>.<name>`, e.g. task("publishing.tasks", "publish_delivery")."""
    full = f"{module}.{name}"
    if full not in current_app.tasks:
        importlib.import_module(module)
    return current_app.tasks[full]
