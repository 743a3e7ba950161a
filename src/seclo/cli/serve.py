"""`seclo serve`: /metrics for Prometheus and the Alertmanager webhook, until interrupted."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from seclo.cli.http_access import http_access, http_access_options
from seclo.cli.options import open_workspace, workspace_option

__all__ = ["serve_command"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=9464, show_default=True, help="Port (0: any free port)."
)
@click.option(
    "--refresh", default="60s", show_default=True, help="How often the store is read: 30s, 5m, 1h..."
)
@http_access_options
@workspace_option
def serve_command(
    host: str,
    port: int,
    refresh: str,
    auth_token_file: Path | None,
    basic_auth_file: Path | None,
    allow_host: tuple[str, ...],
    insecure_no_auth: bool,
    workspace: Path | None,
) -> None:
    """Serve /metrics for Prometheus and receive Alertmanager webhooks, until interrupted.

    \b
    GET  /metrics        every SLO's SLI counters, objective, attainment, error budget, burn rates and
                         alerts, the security SLIs, and the exporter's health (docs/prometheus.md)
    POST /alertmanager   Alertmanager webhook (version 4): alerts become incidents in the store, and
                         the playbooks they trigger run at once
    The figures are read from the store every --refresh, in the background; scrapes get the last figures
    at once. After each refresh the playbooks' polled triggers (SLO alerts, budget policy steps, experiment
    verdicts, findings, schedules) are evaluated, as `seclo playbook evaluate` does. Listens on 127.0.0.1
    unless --host says otherwise. With a token or basic auth configured, POST needs it; beyond 127.0.0.1 every
    request needs it, and the server does not start without one unless --insecure-no-auth is given.

    Example: SECLO_SERVE_TOKEN=... seclo serve --port 9464 --refresh 30s
    """
    import logging  # noqa: PLC0415
    import signal  # noqa: PLC0415

    from seclo.server import serve  # noqa: PLC0415
    from seclo.sli.incidents import parse_duration  # noqa: PLC0415

    try:
        interval = parse_duration(refresh)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--refresh") from None
    access = http_access(auth_token_file, basic_auth_file, allow_host, insecure_no_auth)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ws = open_workspace(workspace)
    server = serve(
        ws,
        host,
        port,
        interval,
        credentials=access.credentials(ws),
        allowed_hosts=access.allowed_hosts(ws),
        insecure_no_auth=insecure_no_auth,
    )

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        click.echo(f"seclo serve: listening on {server.url} (GET /metrics, POST /alertmanager)")
        sys.stdout.flush()
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
