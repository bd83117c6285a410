"""Autostart: which services begin processing when a server or worker starts.

Directives are the original's: ``site@Service``, ``@Service`` (root),
``site@*``, ``*@*`` and ``*@Service``; the log lines are the original's too.
"""

from __future__ import annotations

import logging

from remotetask.refs import ROOT_SITE, WILDCARD, parse_directives
from remotetask.service import TaskService

log = logging.getLogger("remotetask")


def autostart(services: list[TaskService], directives: str | list[str]) -> list[TaskService]:
    """Start every service the directives select; return them in the order started."""
    sites = {service.ref.site for service in services}
    started: list[TaskService] = []
    for directive in parse_directives(directives):
        if directive.site not in (WILDCARD, ROOT_SITE) and directive.site not in sites:
            log.error("site %s not found", directive.site)
            continue
        chosen = [s for s in services if directive.matches(s.ref)]
        if not chosen:
            if directive.name != WILDCARD and directive.site != WILDCARD:
                site_label = directive.site or "root"
                log.error("service %s on site %s not found", directive.name, site_label)
            else:
                log.warning("no services started by directive %s", directive.text)
            continue
        for service in chosen:
            service.start_processing()
            log.info("service %s on site %s started", service.ref.name, service.ref.site_label)
            if service not in started:
                started.append(service)
    return started
