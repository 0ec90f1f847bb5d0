"""The IDB tables each role writes (each role's build module lists its own)."""

from transforms.roles.gcc.build import GCC_TABLES
from transforms.roles.gls.build import GLS_TABLES
from transforms.roles.gud.build import GUD_TABLES

ROLE_TABLES = {"gcc": GCC_TABLES, "gls": GLS_TABLES, "gud": GUD_TABLES}
