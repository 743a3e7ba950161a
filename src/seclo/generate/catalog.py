"""The vocabulary of the synthetic organisation: teams, services, names, operating systems and packages."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ATTACKER_USERNAMES",
    "AUTH_SERVICES",
    "DOMAIN",
    "FIRST_NAMES",
    "LAST_NAMES",
    "OPERATING_SYSTEMS",
    "PACKAGES",
    "SERVICES",
    "TEAMS",
    "UTC_OFFSET_HOURS",
    "AuthService",
    "Service",
]

DOMAIN = "example.com"
UTC_OFFSET_HOURS = 1  # the organisation works on Central European (standard) time

TEAMS = ("payments", "identity", "platform", "data", "web", "mobile", "corp-it", "security")


@dataclass(frozen=True, slots=True)
class Service:
    """An application service that is deployed and can suffer incidents."""

    name: str
    team: str


SERVICES = (
    Service("checkout", "payments"),
    Service("payments-api", "payments"),
    Service("ledger", "payments"),
    Service("sso", "identity"),
    Service("user-profile", "identity"),
    Service("api-gateway", "platform"),
    Service("k8s-ingress", "platform"),
    Service("warehouse-etl", "data"),
    Service("search", "data"),
    Service("storefront", "web"),
    Service("cms", "web"),
    Service("mobile-backend", "mobile"),
    Service("notifications", "mobile"),
    Service("siem-pipeline", "security"),
)


@dataclass(frozen=True, slots=True)
class AuthService:
    """A service people log into, with its share of ordinary logins and the hosts that log them."""

    name: str
    share: float
    hosts: tuple[str, ...]


AUTH_SERVICES = (
    AuthService("sso", 0.70, ("sso-01.corp.example.com", "sso-02.corp.example.com")),
    AuthService("vpn", 0.20, ("vpn-gw-01.corp.example.com", "vpn-gw-02.corp.example.com")),
    AuthService(
        "sshd",
        0.10,
        ("bastion-01.corp.example.com", "bastion-02.corp.example.com", "bastion-03.corp.example.com"),
    ),
)

# Names that password-guessing tools try first; they are not accounts of the organisation.
ATTACKER_USERNAMES = (
    "admin",
    "root",
    "test",
    "guest",
    "oracle",
    "postgres",
    "ubuntu",
    "user",
    "administrator",
)

FIRST_NAMES = (
    "anna", "ben", "carla", "david", "elena", "felix", "grace", "hugo", "ines", "jonas", "karin", "leo",
    "maria", "nils", "olga", "paul", "quinn", "rosa", "sven", "tara", "umar", "vera", "wei", "xenia",
    "yusuf", "zoe", "amir", "bianca", "chen", "dana", "emil", "fatima", "georg", "hana", "ivan", "julia",
    "kofi", "lena", "marco", "nora", "omar", "priya", "rafael", "sara", "tomas", "ulla", "victor", "wanda",
)  # fmt: skip

LAST_NAMES = (
    "adams", "becker", "costa", "dubois", "eriksen", "fischer", "garcia", "hoffmann", "ito", "jansen",
    "kowalski", "lopez", "meyer", "nowak", "okafor", "petrov", "quint", "rossi", "schmidt", "tanaka",
    "urban", "vogel", "wagner", "xu", "yilmaz", "zimmer", "andersen", "brown", "cohen", "diaz", "evans",
    "ferrari", "gupta", "horvat", "ivanova", "jensen", "kim", "larsen", "martin", "nguyen", "olsen",
    "park", "reyes", "silva", "torres", "weber", "young", "ziegler",
)  # fmt: skip

# (name, share of hosts); the first ones are Linux, the Windows ones are recognised by their prefix.
OPERATING_SYSTEMS = (
    ("Ubuntu 22.04", 0.34),
    ("Ubuntu 24.04", 0.16),
    ("Debian 12", 0.14),
    ("Red Hat Enterprise Linux 9", 0.10),
    ("Amazon Linux 2023", 0.08),
    ("Windows Server 2019", 0.06),
    ("Windows Server 2022", 0.12),
)

# (package, affected version) pairs that findings are raised against.
PACKAGES = (
    ("openssl", "3.0.2"),
    ("openssh", "8.9p1"),
    ("glibc", "2.35"),
    ("curl", "7.81.0"),
    ("sudo", "1.9.9"),
    ("nginx", "1.18.0"),
    ("log4j-core", "2.14.1"),
    ("jackson-databind", "2.9.10"),
    ("spring-web", "5.3.17"),
    ("requests", "2.25.1"),
    ("urllib3", "1.26.4"),
    ("django", "3.2.12"),
    ("lodash", "4.17.20"),
    ("axios", "0.21.1"),
    ("express", "4.17.1"),
    ("golang.org/x/net", "0.7.0"),
    ("libxml2", "2.9.13"),
    ("zlib", "1.2.11"),
    ("postgresql", "14.2"),
    ("linux-image-generic", "5.15.0-25"),
)
