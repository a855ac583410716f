"""Migration 0003 (conversations, turns, knowledge) and its repository methods, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from dataask_jupyter.errors import UsageError
from dataask_jupyter.store import DEFAULT_WORKSPACE, open_store
from dataask_jupyter.store import ask_models as am
from tests.foundation_fixtures import pg_sqla

ASK_TABLES = {"ask_conversations", "ask_turns", "knowledge_instructions", "knowledge_sql_pairs"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def repo(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store' / 'dataask.db'}"
    else:
        url = pg_sqla(request.getfixturevalue("fresh_pg_db"))
    r = open_store(url)
    yield r
    r.engine.dispose()


def _ws(repo) -> int:
    return repo.get_workspace(DEFAULT_WORKSPACE).id


def test_migration_0003_matches_the_models(repo):
    names = set(inspect(repo.engine).get_table_names())
    assert ASK_TABLES <= names
    with repo.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003_conversations_knowledge"
        from alembic.autogenerate import compare_metadata

        diff = compare_metadata(MigrationContext.configure(conn), am.Base.metadata)
    mine = [d for d in diff if any(t in repr(d) for t in ASK_TABLES)]
    assert mine == []  # the migration creates exactly what the models declare
    turn_cols = {c["name"] for c in inspect(repo.engine).get_columns("ask_turns")}
    assert {"workspace_id", "username", "question", "sql", "engine", "federated", "row_count",
            "created_at"} <= turn_cols
    assert not turn_cols & {"rows", "values", "data", "insights"}  # never row data
    uniques = inspect(repo.engine).get_unique_constraints("knowledge_sql_pairs")
    assert any(set(u["column_names"]) == {"workspace_id", "question_key"} for u in uniques)


def test_conversation_turns_round_trip(repo):
    ws = _ws(repo)
    assert repo.latest_conversation(ws, "alice") is None
    conv = repo.start_conversation(ws, "alice")
    t1 = repo.add_turn(conv.id, username="alice", question="total revenue by year", sql="SELECT 1", engine="offline",
                       federated=False, connections=["sales"], intent="data", row_count=4,
                       timings={"total": 0.0123456789}, chart={"mark": "line"})
    repo.add_turn(conv.id, username="alice", question="only for Europe", sql="SELECT 2", engine="offline",
                  federated=True, connections=["sales", "crm"], intent="follow_up", row_count=3, timings={},
                  chart=None)
    other = repo.start_conversation(ws, "bob")
    repo.add_turn(other.id, username="bob", question="how many customers", sql="SELECT 3", engine="openai/x",
                  federated=False, connections=["crm"], intent="data", row_count=1, timings={}, chart=None)
    latest = repo.latest_conversation(ws, "alice")
    assert latest.id == conv.id and latest.title == "total revenue by year"
    turns = repo.turns(conv.id)
    assert [t.question for t in turns] == ["total revenue by year", "only for Europe"]
    assert turns[1].federated and turns[1].connections == ["sales", "crm"] and turns[1].intent == "follow_up"
    assert t1.timings == {"total": 0.012346} and turns[0].chart == {"mark": "line"}
    assert turns[0].created_at.tzinfo is not None
    assert [t.question for t in repo.recent_turns(ws, 2)] == ["how many customers", "only for Europe"]
    assert [t.sql for t in repo.recent_turns(ws, 10, username="alice")] == ["SELECT 2", "SELECT 1"]
    assert repo.recent_turns(repo.ensure_workspace("other").id) == []


def test_knowledge_pairs_replace_by_question_and_instructions_keep_order(repo):
    ws = _ws(repo)
    other = repo.ensure_workspace("other").id
    a = repo.save_sql_pair(ws, "Top customers?", "SELECT name FROM customers;", "crm", "alice")
    assert a.sql == "SELECT name FROM customers" and a.connection == "crm"
    b = repo.save_sql_pair(ws, "  top   CUSTOMERS ", "SELECT id FROM customers", None, "bob")
    assert b.id == a.id and [p.sql for p in repo.sql_pairs(ws)] == ["SELECT id FROM customers"]
    repo.save_sql_pair(ws, "orders per day", "SELECT 1", None, "alice")
    assert repo.sql_pairs(other) == []
    repo.add_instruction(ws, "revenue means sum(quantity*unit_price)", "alice")
    i2 = repo.add_instruction(ws, "fiscal years start in April", "alice")
    assert [i.text for i in repo.instructions(ws)] == ["revenue means sum(quantity*unit_price)",
                                                        "fiscal years start in April"]
    assert repo.knowledge_counts(ws) == (2, 2)
    assert repo.remove_knowledge(other, "instruction", i2.id, "mallory") is False  # not across workspaces
    assert repo.remove_knowledge(ws, "instruction", i2.id, "alice") is True
    assert repo.remove_knowledge(ws, "instruction", i2.id, "alice") is False
    assert repo.remove_knowledge(ws, "sql_pair", a.id, "alice") is True
    assert [p.question for p in repo.sql_pairs(ws)] == ["orders per day"]
    actions = [e.action for e in repo.list_audit(workspace_id=ws)]
    assert {"knowledge.teach", "knowledge.instruct", "knowledge.remove_instruction",
            "knowledge.remove_sql_pair"} <= set(actions)
    with pytest.raises(UsageError):
        repo.add_instruction(ws, "   ", "alice")
    with pytest.raises(UsageError):
        repo.save_sql_pair(ws, "q", "x" * 200_001, None, "alice")


def test_deleting_a_workspace_removes_its_conversations_and_knowledge(repo):
    from dataask_jupyter.store import SQLWorkspaceRepository

    ws = repo.ensure_workspace("temp").id
    conv = repo.start_conversation(ws, "alice")
    repo.add_turn(conv.id, username="alice", question="q", sql="SELECT 1", engine="offline", federated=False,
                  connections=[], intent="data", row_count=None, timings={}, chart=None)
    repo.add_instruction(ws, "x", "alice")
    repo.save_sql_pair(ws, "q", "SELECT 1", None, "alice")
    SQLWorkspaceRepository.from_store(repo).delete_workspace(ws, "alice")
    with repo.engine.connect() as conn:
        for table in ASK_TABLES:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
