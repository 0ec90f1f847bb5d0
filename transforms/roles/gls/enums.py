"""The gls role's enumerations; they live with every other one in `transforms.idb.dictionary`
(type ids 1101-1105, docs/semantics.md §8)."""

from transforms.idb.dictionary import AgentState, HwFlag, SessionState, StateRecordType, WorkMode

__all__ = ["AgentState", "HwFlag", "SessionState", "StateRecordType", "WorkMode"]
