"""The ECG case's step policy: no quality control, no triage; claimed from a pool.

Submit lands in ``accepted`` (waiting in the pool); ``claim`` (an on-duty expert of the
case's pool) and ``release`` are the engine's pool steps; ``conclude`` is the signed report.
"""

from __future__ import annotations

from telemed.consultations.policies import KindPolicy, register
from telemed.consultations.states import Kind
from telemed.ecg import pools

ECG = KindPolicy(
    kind=Kind.ECG,
    uses_quality_control=False,
    uses_triage=False,
    uses_pool=True,
    own_intake=True,
    # The report is written beside the tracing, on the ECG case page.
    report_page="ecg:case",
    amend_page="ecg:case",
    may_claim=pools.may_claim,
    session_minutes=15,
)


def connect() -> None:
    from telemed.consultations.models import widen_expert_scope

    register(ECG)
    widen_expert_scope(pools.waiting_in_duty_pools)
