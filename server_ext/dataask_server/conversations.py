"""Conversation and knowledge routes (what a team-mode kernel's ``%%ask`` stores and reads).

Reading and asking need viewer on the workspace; teaching, instructing and forgetting need
editor (the knowledge steers everyone's answers). Turns are written as the caller, only to
the caller's own conversations.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from dataask_jupyter.dashboards import Role, Scope
from dataask_jupyter.hub import AskRecords
from dataask_jupyter.hub.models import (
    ConversationIn,
    ConversationOut,
    ConversationPage,
    HistoryFilter,
    InstructionIn,
    InstructionOut,
    KnowledgeOut,
    SqlPairIn,
    SqlPairOut,
    TurnIn,
    TurnOut,
    TurnPage,
)

from .endpoint import endpoint
from .workspaces import Handler

WS = dict(key="ws")


class _AskHandler(Handler):
    @property
    def records(self) -> AskRecords:
        return AskRecords(self.dataask.repo, self.dataask.connections)


class ConversationsHandler(_AskHandler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.viewer, **WS, query=ConversationPage, returns=list[ConversationOut],
              summary="Your %%ask conversations in a workspace, most recently used first")
    def get(self, grant, ws, query):
        return self.records.conversations(grant, query)

    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.viewer, **WS, body=ConversationIn, returns=ConversationOut, status=201,
              summary="Start a conversation (yours)")
    def post(self, grant, ws, body):
        return self.records.start(grant, body)


class TurnsHandler(_AskHandler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.viewer, **WS, query=TurnPage, returns=list[TurnOut],
              summary="The last questions of a conversation, oldest first")
    def get(self, grant, ws, conversation, query):
        return self.records.turns(grant, conversation, query)

    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.viewer, **WS, body=TurnIn, returns=TurnOut, status=201,
              summary="Add an answered question (SQL, chart template; no rows) to your conversation")
    def post(self, grant, ws, conversation, body):
        return self.records.add_turn(grant, conversation, body)


class HistoryHandler(_AskHandler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.viewer, **WS, query=HistoryFilter, returns=list[TurnOut],
              summary="Recent questions of a workspace, newest first (yours; everyone=true: everyone's)")
    def get(self, grant, ws, query):
        return self.records.history(grant, query)


class KnowledgeHandler(_AskHandler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.viewer, **WS, returns=KnowledgeOut,
              summary="Instructions and question/SQL pairs taught to a workspace")
    def get(self, grant, ws):
        return self.records.knowledge(grant)


class InstructionsHandler(_AskHandler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.editor, **WS, body=InstructionIn, returns=InstructionOut, status=201,
              summary="Add an instruction for the question engines")
    def post(self, grant, ws, body):
        return self.records.instruct(grant, body)


class SqlPairsHandler(_AskHandler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.editor, **WS, body=SqlPairIn, returns=SqlPairOut, status=201,
              summary="Teach a question with its SQL (read-only guard first; same question: replaced)")
    def post(self, grant, ws, body):
        return self.records.teach(grant, body)


class KnowledgeEntryHandler(_AskHandler):
    @web.authenticated
    @authorized
    @endpoint(Scope.workspace, Role.editor, **WS, status=204,
              summary="Remove an instruction (i<N>) or a question/SQL pair (p<N>)")
    def delete(self, grant, ws, ref):
        self.records.forget(grant, ref)
