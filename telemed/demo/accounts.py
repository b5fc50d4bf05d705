"""The demo's sign-in accounts, one per role (documented in the README)."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_PASSWORD = "telemed-demo-2026"
DEMO_PROVINCE = "DEMO_PROVINCE"
DEMO_CITY = "DEMO_CITY"
DEMO_COUNTY = "DEMO_COUNTY"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    institution: str
    name: str
    what: str


DEMO_ACCOUNTS = (
    DemoAccount("doctor", "requesting_doctor", DEMO_COUNTY, "李县医", "county requesting doctor"),
    DemoAccount("expert", "expert", DEMO_PROVINCE, "王专家", "provincial cardiology expert"),
    DemoAccount(
        "qc", "quality_control", DEMO_PROVINCE, "赵质控", "quality control at the province centre"
    ),
    DemoAccount(
        "manager", "consultation_manager", DEMO_PROVINCE, "钱分诊", "consultation manager (triage)"
    ),
    DemoAccount("pharmacist", "pharmacist", DEMO_COUNTY, "孙药师", "county pharmacist"),
    DemoAccount("educator", "education_manager", DEMO_PROVINCE, "周教育", "education manager"),
    DemoAccount("supervisor", "supervisor", DEMO_PROVINCE, "吴监管", "province supervisor"),
    DemoAccount(
        "city-supervisor", "supervisor", DEMO_CITY, "郑监管", "supervisor of one city region"
    ),
    DemoAccount("admin", "administrator", DEMO_PROVINCE, "冯管理", "administrator"),
    DemoAccount("patient", "patient", DEMO_COUNTY, "陈患者", "patient (own record)"),
)
