"""Offline phrasings: "no X" / "without any X" / "never" (anti-join), "fewer than N X" (zeros count),
nested aggregates ("average number of X per Y", "average of the per-Y X totals"), and what must NOT nest."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from dataask_jupyter.nl2sql import InMemoryKnowledge
from dataask_jupyter.nl2sql.knowledge import relevant_instructions, same_numbers
from tests.test_nl2sql_support import other_setup


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    da, urls, asker = other_setup(tmp_path_factory.mktemp("phr"))
    yield asker
    da.close()


def _sql(asker, q):
    r = asker.ask(q, chart=False)
    return r, sqlglot.parse_one(r.sql, read=r.dialect)


@pytest.mark.parametrize("question", ["members that have no loans", "members without any loans",
                                      "Which members have never had loans?"])
def test_no_related_rows_is_an_anti_join(library, question):
    r, tree = _sql(library, question)
    assert "NOT IN" in r.sql.upper() and "loans" in r.sql and "members" in r.sql
    assert "IS NOT NULL" in r.sql  # NULL foreign keys would make NOT IN empty
    assert r.row_count == int(library.manager.execute(
        "library", "SELECT COUNT(*) FROM members m WHERE NOT EXISTS (SELECT 1 FROM loans l "
        "WHERE l.member_id = m.member_id)").table.column(0)[0].as_py())


def test_fewer_than_counts_rows_with_none(library):
    r, _ = _sql(library, "How many authors have fewer than 4 books?")
    expected = library.manager.execute("library", "SELECT COUNT(*) FROM authors a WHERE (SELECT COUNT(*) FROM books b "
                                                  "WHERE b.author_id = a.id) < 4").table.column(0)[0].as_py()
    assert r.rows == [[expected]]


@pytest.mark.parametrize("question, outer, inner", [
    ("average number of books per author", exp.Avg, exp.Count),
    ("What is the average number of loans per member?", exp.Avg, exp.Count),
    ("average loans per member", exp.Avg, exp.Count),
    ("maximum number of flights per airline", exp.Max, exp.Count),
    ("average of the per-member late fee totals", exp.Avg, exp.Sum),
    ("average total late fee per member", exp.Avg, exp.Sum),
])
def test_nested_aggregates(library, question, outer, inner):
    r, tree = _sql(library, question)
    assert r.row_count == 1 and len(r.columns) == 1
    assert isinstance(tree.selects[0].unalias(), outer)
    sub = tree.find(exp.Subquery)
    assert sub is not None and sub.find(inner) is not None and sub.find(exp.Group) is not None
    assert any("per-group" in n for n in r.explanation)


@pytest.mark.parametrize("question", ["average pages per book", "Average number of pages by genre",
                                      "average passengers per flight by destination"])
def test_amount_columns_do_not_nest(library, question):
    r, tree = _sql(library, question)
    assert tree.find(exp.Subquery) is None and tree.find(exp.Avg) is not None


def test_adding_up_a_table_name_counts_it_instead_of_summing_a_date(library):
    r, tree = _sql(library, "total loans per member")
    assert tree.find(exp.Sum) is None and tree.find(exp.Count) is not None


def test_pair_reuse_needs_the_same_numbers_and_instructions_are_ranked(library):
    assert same_numbers("revenue in 2024", "Revenue in 2024?") and not same_numbers("revenue in 2024", "revenue in 2023")
    k = InMemoryKnowledge()
    sql = "SELECT COUNT(*) AS n FROM books WHERE published_year = 2001"
    k.add_sql_pair("default", "how many books came out in 2001", sql, "library")
    library.knowledge, old = k, library.knowledge
    try:
        assert library.ask("How many books came out in 2001?", chart=False).sql == sql
        assert library.ask("How many books came out in 2002?", chart=False).sql != sql
    finally:
        library.knowledge = old
    many = [f"rule {i} about nothing" for i in range(30)] + ["late fees are in EUR"]
    picked = relevant_instructions("total late fees per member", many, limit=5)
    assert len(picked) == 5 and picked[0] == "late fees are in EUR"
