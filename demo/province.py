"""The demo province's registry: agencies, units, officials, keys, competences, delegations.

Tỉnh Sơn Hà is fictional (code H99); its agencies follow the 2025 two-level structure (a
provincial people's committee, its departments, and communes/wards). The procedure kinds
are real one-stop procedures; their codes follow the national procedure database's format
but are illustrative, as are the time budgets. Every key derives from the seed, so a seed
gives the same statements and signatures on every machine.
"""

from __future__ import annotations

import hashlib
import random
import unicodedata
from dataclasses import dataclass, field

from ledger.crypto import SigningKey

ROOT_ID = "so-noi-vu"
ROOT_NAME = "Sở Nội vụ tỉnh Sơn Hà (quản lý định danh gốc)"
ORIGIN = "ledger.son-ha.example"


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    deadline_working_days: int


@dataclass(frozen=True)
class Unit:
    unit_id: str
    name: str
    parent: str | None  # None: the agency's root unit (its leadership)


@dataclass(frozen=True)
class AgencySpec:
    agency_id: str
    short: str  # for official ids: ascii, no dots
    name: str
    level: str
    parent: str | None
    units: tuple[Unit, ...]
    procedures: tuple[Procedure, ...]
    head_title: str
    deputy_title: str


@dataclass(frozen=True)
class Person:
    id: str
    full_name: str
    agency_id: str
    unit_id: str
    position: str
    is_head: bool
    key: SigningKey = field(compare=False, repr=False)

    @property
    def subject(self) -> str:
        return f"official:{self.id}"


LEADERSHIP = Unit("lanh-dao", "Lãnh đạo", None)
ONE_STOP = Unit("mot-cua", "Bộ phận Tiếp nhận và Trả kết quả", "lanh-dao")

PROVINCE = "000.00.00.H99"
HOME_AFFAIRS = "000.00.01.H99"
AGRICULTURE = "000.00.02.H99"
CONSTRUCTION = "000.00.03.H99"
FINANCE = "000.00.04.H99"
AN_PHU = "H99.21.001"
TAN_LAP = "H99.21.002"

LAND_FIRST = Procedure("1.004227", "Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất lần đầu", 20)
LAND_CHANGE = Procedure("1.012790", "Đăng ký biến động quyền sử dụng đất", 10)
WATER = Procedure("1.004249", "Cấp giấy phép khai thác, sử dụng nước dưới đất", 30)
BUILD_PERMIT = Procedure(
    "1.009972", "Cấp giấy phép xây dựng mới đối với công trình cấp II, III", 20
)
BUILD_ADJUST = Procedure("1.009974", "Điều chỉnh giấy phép xây dựng", 15)
COMPANY = Procedure("2.001610", "Đăng ký thành lập công ty trách nhiệm hữu hạn một thành viên", 3)
COMPANY_CHANGE = Procedure("2.002040", "Đăng ký thay đổi nội dung đăng ký doanh nghiệp", 3)
INVESTMENT = Procedure("1.009645", "Chấp thuận chủ trương đầu tư", 35)
ASSOCIATION = Procedure("1.003827", "Công nhận ban vận động thành lập hội", 30)
BIRTH = Procedure("1.001193", "Đăng ký khai sinh", 1)
CERTIFY = Procedure("2.000908", "Chứng thực bản sao từ bản chính giấy tờ, văn bản", 1)
HOUSE_PERMIT = Procedure("1.010009", "Cấp giấy phép xây dựng nhà ở riêng lẻ", 15)
LAND_COMMUNE = Procedure("1.012795", "Xác nhận nguồn gốc, thời điểm sử dụng đất", 10)

AGENCIES: tuple[AgencySpec, ...] = (
    AgencySpec(
        PROVINCE,
        "tinh",
        "Ủy ban nhân dân tỉnh Sơn Hà",
        "province",
        None,
        (
            LEADERSHIP,
            Unit("van-phong", "Văn phòng Ủy ban nhân dân tỉnh", "lanh-dao"),
            Unit("phong-kinh-te", "Phòng Kinh tế ngành", "van-phong"),
        ),
        (INVESTMENT,),
        "Chủ tịch Ủy ban nhân dân tỉnh",
        "Phó Chủ tịch Ủy ban nhân dân tỉnh",
    ),
    AgencySpec(
        HOME_AFFAIRS,
        "snv",
        "Sở Nội vụ tỉnh Sơn Hà",
        "province",
        PROVINCE,
        (LEADERSHIP, ONE_STOP, Unit("phong-tccb", "Phòng Tổ chức, biên chế", "lanh-dao")),
        (ASSOCIATION,),
        "Giám đốc Sở",
        "Phó Giám đốc Sở",
    ),
    AgencySpec(
        AGRICULTURE,
        "snnmt",
        "Sở Nông nghiệp và Môi trường tỉnh Sơn Hà",
        "province",
        PROVINCE,
        (
            LEADERSHIP,
            ONE_STOP,
            Unit("phong-dat-dai", "Phòng Quản lý đất đai", "lanh-dao"),
            Unit("vp-dang-ky", "Văn phòng Đăng ký đất đai", "lanh-dao"),
        ),
        (LAND_FIRST, LAND_CHANGE, WATER),
        "Giám đốc Sở",
        "Phó Giám đốc Sở",
    ),
    AgencySpec(
        CONSTRUCTION,
        "sxd",
        "Sở Xây dựng tỉnh Sơn Hà",
        "province",
        PROVINCE,
        (
            LEADERSHIP,
            ONE_STOP,
            Unit("phong-qlxd", "Phòng Quản lý hoạt động xây dựng", "lanh-dao"),
            Unit("phong-qhkt", "Phòng Quy hoạch – Kiến trúc", "lanh-dao"),
        ),
        (BUILD_PERMIT, BUILD_ADJUST),
        "Giám đốc Sở",
        "Phó Giám đốc Sở",
    ),
    AgencySpec(
        FINANCE,
        "stc",
        "Sở Tài chính tỉnh Sơn Hà",
        "province",
        PROVINCE,
        (
            LEADERSHIP,
            ONE_STOP,
            Unit("phong-dkkd", "Phòng Đăng ký kinh doanh", "lanh-dao"),
            Unit("phong-dau-tu", "Phòng Đầu tư", "lanh-dao"),
        ),
        (COMPANY, COMPANY_CHANGE, INVESTMENT),
        "Giám đốc Sở",
        "Phó Giám đốc Sở",
    ),
    AgencySpec(
        AN_PHU,
        "anphu",
        "Ủy ban nhân dân phường An Phú",
        "commune",
        PROVINCE,
        (
            LEADERSHIP,
            Unit("van-phong", "Văn phòng HĐND và UBND phường", "lanh-dao"),
            Unit("phong-kinh-te", "Phòng Kinh tế, Hạ tầng và Đô thị", "lanh-dao"),
        ),
        (BIRTH, CERTIFY, HOUSE_PERMIT, LAND_COMMUNE),
        "Chủ tịch Ủy ban nhân dân phường",
        "Phó Chủ tịch Ủy ban nhân dân phường",
    ),
    AgencySpec(
        TAN_LAP,
        "tanlap",
        "Ủy ban nhân dân xã Tân Lập",
        "commune",
        PROVINCE,
        (
            LEADERSHIP,
            Unit("van-phong", "Văn phòng HĐND và UBND xã", "lanh-dao"),
            Unit("phong-kinh-te", "Phòng Kinh tế", "lanh-dao"),
        ),
        (BIRTH, CERTIFY, HOUSE_PERMIT, LAND_COMMUNE),
        "Chủ tịch Ủy ban nhân dân xã",
        "Phó Chủ tịch Ủy ban nhân dân xã",
    ),
)

FAMILY = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
    "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Trịnh", "Đinh", "Lương", "Tạ",
)  # fmt: skip
MIDDLE_MEN = ("Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Công", "Xuân")
MIDDLE_WOMEN = ("Thị", "Ngọc", "Thu", "Thanh", "Hoài", "Kim", "Phương", "Diệu")
GIVEN_MEN = (
    "An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phong", "Phúc",
    "Quang", "Sơn", "Tuấn", "Việt", "Thắng", "Trung", "Đạt", "Hiếu", "Lộc",
)  # fmt: skip
GIVEN_WOMEN = (
    "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Thảo", "Trang", "Yến",
    "Ngân", "Nhung", "Quyên", "Uyên", "Vân", "Thủy", "Loan", "Hằng", "Diệp",
)  # fmt: skip


def ascii_id(full_name: str) -> str:
    """``Nguyễn Văn Đạt`` → ``nguyen.van.dat`` (ids are ASCII; names keep their marks)."""
    text = full_name.replace("Đ", "D").replace("đ", "d")
    plain = unicodedata.normalize("NFD", text).encode("ascii", "ignore").decode()
    return ".".join(plain.lower().split())


def derived_key(seed: int, label: str) -> SigningKey:
    """A key that depends only on the seed and what it is for."""
    return SigningKey.from_seed(hashlib.sha256(f"al-demo/{seed}/{label}".encode()).digest())


@dataclass
class Registry:
    """Who is who in the demo province: the model the story signs statements against."""

    seed: int
    rng: random.Random
    people: dict[str, Person] = field(default_factory=dict)
    registrars: dict[str, Person] = field(default_factory=dict)  # agency -> registrar
    by_role: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    competences: dict[str, set[str]] = field(default_factory=dict)  # official -> codes
    delegations: list[tuple[str, str, str, tuple[str, ...]]] = field(default_factory=list)
    # (grantor, grantee, kind, codes); the grant's event_id is assigned when it is signed
    delegation_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    root_key: SigningKey = field(init=False)
    log_key: SigningKey = field(init=False)

    def __post_init__(self) -> None:
        self.root_key = derived_key(self.seed, "root")
        self.log_key = derived_key(self.seed, "log")
        self._used_ids: set[str] = {ROOT_ID}

    def name(self, *, woman: bool | None = None) -> tuple[str, str]:
        """A Vietnamese full name and an unused id for it."""
        while True:
            is_woman = self.rng.random() < 0.5 if woman is None else woman
            middle = MIDDLE_WOMEN if is_woman else MIDDLE_MEN
            given = GIVEN_WOMEN if is_woman else GIVEN_MEN
            full = f"{self.rng.choice(FAMILY)} {self.rng.choice(middle)} {self.rng.choice(given)}"
            base = ascii_id(full)
            if base not in self._used_ids:
                self._used_ids.add(base)
                return full, base

    def add(self, agency: AgencySpec, unit: str, position: str, is_head: bool, role: str) -> Person:
        full, official_id = self.name()
        person = Person(
            official_id,
            full,
            agency.agency_id,
            unit,
            position,
            is_head,
            derived_key(self.seed, official_id),
        )
        self.people[official_id] = person
        self.by_role.setdefault((agency.agency_id, role), []).append(official_id)
        return person

    def one(self, agency_id: str, role: str) -> Person:
        return self.people[self.by_role[(agency_id, role)][0]]

    def all(self, agency_id: str, role: str) -> list[Person]:
        return [self.people[i] for i in self.by_role.get((agency_id, role), [])]

    def agency(self, agency_id: str) -> AgencySpec:
        return next(a for a in AGENCIES if a.agency_id == agency_id)

    def holds(self, official_id: str, code: str) -> bool:
        return code in self.competences.get(official_id, set())

    def is_superior(self, above: str, below: str) -> bool:
        """As DESIGN §6 (units hang directly under the leadership in every demo agency,
        but for the provincial committee's office)."""
        a, b = self.people[above], self.people[below]
        if above == below or not a.is_head or a.agency_id != b.agency_id:
            return False
        units = {u.unit_id: u.parent for u in self.agency(b.agency_id).units}
        current: str | None = b.unit_id
        while current is not None:
            if current == a.unit_id:
                return True
            current = units[current]
        return False


def build_registry(seed: int) -> Registry:
    """Staff every agency: leadership, one-stop clerks, each unit's head, deputy, officers."""
    registry = Registry(seed, random.Random(f"al-demo-registry/{seed}"))
    for agency in AGENCIES:
        full, registrar_id = registry.name()
        registrar_id = f"tccb.{agency.short}.{registrar_id.split('.')[-1]}"
        registry._used_ids.add(registrar_id)
        registry.registrars[agency.agency_id] = Person(
            registrar_id,
            full,
            agency.agency_id,
            "lanh-dao",
            "Cán bộ tổ chức",
            False,
            derived_key(seed, registrar_id),
        )
        head = registry.add(agency, "lanh-dao", agency.head_title, True, "head")
        deputies = 1 if agency.level == "commune" else 2
        for _ in range(deputies):
            registry.add(agency, "lanh-dao", agency.deputy_title, False, "deputy")
        for unit in agency.units:
            if unit.parent is None:
                continue
            if unit.unit_id in ("mot-cua", "van-phong") and agency.agency_id != PROVINCE:
                for _ in range(2):
                    registry.add(agency, unit.unit_id, "Công chức một cửa", False, "clerk")
                continue
            registry.add(agency, unit.unit_id, "Trưởng phòng", True, f"head:{unit.unit_id}")
            if agency.level != "commune":
                registry.add(
                    agency, unit.unit_id, "Phó Trưởng phòng", False, f"vice:{unit.unit_id}"
                )
            for _ in range(3):
                registry.add(agency, unit.unit_id, "Chuyên viên", False, f"officer:{unit.unit_id}")
        # The province, not the department, decides investment policy.
        codes = {
            p.code for p in agency.procedures if agency.agency_id == PROVINCE or p is not INVESTMENT
        }
        registry.competences[head.id] = set(codes)
        for deputy in registry.all(agency.agency_id, "deputy"):
            registry.delegations.append((head.id, deputy.id, "ky_thay", tuple(sorted(codes))))
    # Phân cấp, as the one-stop rules have it: business registration is decided by the
    # registration office's head, land changes by the land registration office's head.
    registry.competences[registry.one(FINANCE, "head:phong-dkkd").id] = {
        COMPANY.code,
        COMPANY_CHANGE.code,
    }
    registry.competences[registry.one(AGRICULTURE, "head:vp-dang-ky").id] = {LAND_CHANGE.code}
    return registry


__all__ = [
    "AGENCIES",
    "ORIGIN",
    "ROOT_ID",
    "ROOT_NAME",
    "AgencySpec",
    "Person",
    "Procedure",
    "Registry",
    "Unit",
    "ascii_id",
    "build_registry",
    "derived_key",
]
