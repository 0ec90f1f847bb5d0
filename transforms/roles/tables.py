"""The IDB tables each role writes (each role's build module lists its own), and the closure
rules that end what the logs never ended."""

from transforms.roles.gcc.build import CLOSED_IDLE, GCC_TABLES
from transforms.roles.gls.build import GLS_TABLES
from transforms.roles.gls.sessions import CLOSED_DSS_END, CLOSED_MAX_DURATION
from transforms.roles.gos.build import GOS_TABLES
from transforms.roles.gud.build import GUD_TABLES

ROLE_TABLES = {"gcc": GCC_TABLES, "gls": GLS_TABLES, "gud": GUD_TABLES, "gos": GOS_TABLES}

# table -> (the column naming its entity, the ETL_CLOSED_BY values of a stuck call or session:
# one whose end no log holds, ended by a rule); other values are logged ends
STUCK_CLOSURES = {"G_CALL": ("CALLID", (CLOSED_IDLE,)),
                  "G_LOGIN_SESSION": ("LOGINSESSIONID", (CLOSED_DSS_END, CLOSED_MAX_DURATION))}
