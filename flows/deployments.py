"""Prefect deployments as code: the scheduled sweeps (Asia/Ho_Chi_Minh) and the bulk transition entry.

`ketnap serve` serves them in-process on the embedded default; at scale the same flows are
deployed to a process work pool with deploy/prefect.yaml and run by workers on other machines.
"""

from __future__ import annotations

from typing import Any

from prefect.schedules import Cron, Interval

from flows.sweeps import (
    course_enrolment,
    deadline_sweep,
    deliver_notifications,
    link_pending_requests,
    sponsor_reminders,
)
from flows.transition import transition_flow

TIMEZONE = "Asia/Ho_Chi_Minh"

SCHEDULES: dict[str, dict[str, Any]] = {
    # deployment name: flow, schedule, what it is for
    "deadline-sweep/daily": {"flow": deadline_sweep, "schedule": Cron("0 6 * * *", timezone=TIMEZONE)},
    "sponsor-reminders/daily": {"flow": sponsor_reminders, "schedule": Cron("0 7 * * *", timezone=TIMEZONE)},
    "course-enrolment/weekly": {"flow": course_enrolment, "schedule": Cron("0 7 * * 1", timezone=TIMEZONE)},
    "link-pending-requests/every-minute": {"flow": link_pending_requests, "schedule": Interval(60)},
    "deliver-notifications/every-5-minutes": {"flow": deliver_notifications, "schedule": Interval(300)},
    "transition/bulk": {"flow": transition_flow, "schedule": None},
}


def runner_deployments() -> list[Any]:
    """The deployments `ketnap serve` serves (names are '<flow>/<deployment>')."""
    out = []
    for full_name, spec in SCHEDULES.items():
        name = full_name.split("/", 1)[1]
        kwargs: dict[str, Any] = {"tags": ["ketnap"]}
        if spec["schedule"] is not None:
            kwargs["schedule"] = spec["schedule"]
        out.append(spec["flow"].to_deployment(name, **kwargs))
    return out
