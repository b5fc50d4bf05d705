"""Remote nodes: which caller maps to which institution; the demo mapping; the command."""

from __future__ import annotations

import pytest

from telemed.dicom import demo
from telemed.dicom.models import RemoteNode
from telemed.dicom.nodes import node_for
from telemed.dicom.testing import make_node
from telemed.directory.models import Institution, Tier


def test_an_address_bound_node_wins_over_an_open_one(network):
    open_node = make_node("PACS", network.county_a)
    bound = make_node("PACS", network.county_b, host="10.0.0.7")
    assert node_for("PACS", "10.0.0.7") == bound
    assert node_for("PACS ", "10.0.0.8") == open_node
    assert node_for("OTHER", "10.0.0.7") is None
    assert node_for("", "10.0.0.7") is None


def test_a_disabled_node_is_no_node(network):
    make_node("PACS", network.county_a, enabled=False)
    assert node_for("PACS", "127.0.0.1") is None


def test_the_demo_maps_demo_county_and_its_cart_once(network):
    county = Institution.objects.create(
        code="DEMO_COUNTY", name="示范县人民医院", tier=Tier.COUNTY_HOSPITAL
    )
    assert demo.load() == {"dicom_nodes": 2}
    assert demo.load() == {"dicom_nodes": 2}
    pacs, cart = (RemoteNode.objects.get(ae_title=t) for t in ("DEMO_COUNTY", "DEMO_CART"))
    assert pacs.institution == cart.institution == county
    assert (pacs.registers_patients, cart.registers_patients) == (False, True)


def test_the_listener_is_registered_for_telemed_serve():
    from telemed.core import listeners

    assert "dicom" in [each.name for each in listeners.registered()]


@pytest.mark.django_db(transaction=True)
def test_telemed_dicom_listen_runs_alone():
    import os
    import select
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "telemed.settings", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "telemed.cli", "dicom", "listen", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    try:
        # The command prints its address once it listens (Django's start-up can be slow on
        # a loaded machine, hence the generous bound).
        ready, _, _ = select.select([process.stdout], [], [], 90)
        first = process.stdout.readline() if ready else ""
        assert f"on 127.0.0.1:{port}" in first, first
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            rest, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert "stopped" in rest


@pytest.mark.django_db(transaction=True)
def test_the_serve_coroutine_listens_until_cancelled(network, settings):
    import asyncio
    import socket
    import subprocess

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        settings.DICOM_PORT = probe.getsockname()[1]
    make_node("COUNTY_A", network.county_a)
    from telemed.dicom.listener import serve

    async def scenario() -> int:
        task = asyncio.create_task(serve())
        try:
            for _ in range(100):
                echo = await asyncio.to_thread(
                    subprocess.run,
                    [
                        "echoscu",
                        "-aet",
                        "COUNTY_A",
                        "-aec",
                        "TELEMED",
                        "127.0.0.1",
                        str(settings.DICOM_PORT),
                    ],
                    capture_output=True,
                    timeout=30,
                )
                if echo.returncode == 0:
                    return 0
                await asyncio.sleep(0.1)
            return 1
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    assert asyncio.run(scenario()) == 0
    with socket.socket() as after:
        assert after.connect_ex(("127.0.0.1", settings.DICOM_PORT)) != 0
