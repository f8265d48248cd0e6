"""Local Jira Cloud and GitHub servers (pytest-httpserver) checking each request against the vendor schema.

A request that does not validate gets the vendor's error status (400 for Jira, 422 for GitHub) with
the validation message, so the exporter fails loudly; a valid one is stored and answered as the
vendor would (201 with the new issue's id).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def schema(name: str) -> dict[str, Any]:
    return dict(json.loads((SCHEMAS / name).read_text()))


def _validator(file: str, definition: str | None = None) -> jsonschema.protocols.Validator:
    doc = schema(file)
    target = (
        doc if definition is None else {**doc["definitions"][definition], "definitions": doc["definitions"]}
    )
    cls = jsonschema.validators.validator_for(doc)
    return cls(target)


ADF = _validator("adf-doc.schema.json")
GITHUB_CREATE = _validator("github-issues.schema.json", "issues/create")
GITHUB_COMMENT = _validator("github-issues.schema.json", "issues/create-comment")
GITHUB_UPDATE = _validator("github-issues.schema.json", "issues/update")
JIRA_ISSUE = _validator("jira-platform-v3.schema.json", "IssueUpdateDetails")
JIRA_FIELDS = _validator("jira-platform-v3.schema.json", "x-create-fields")
JIRA_COMMENT = _validator("jira-platform-v3.schema.json", "Comment")


def problems(validator: jsonschema.protocols.Validator, instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


def _json(request: Request) -> Any:
    if request.mimetype != "application/json":
        return None
    return json.loads(request.get_data())


class FakeGitHub:
    def __init__(self, server: HTTPServer, *, repository: str, token: str) -> None:
        self.token, self.issues, self.comments = token, {}, []
        self.numbers = itertools.count(1)
        self.requests: list[tuple[str, dict[str, str]]] = []
        base = f"/repos/{repository}/issues"
        server.expect_request(base, method="POST").respond_with_handler(self._create)
        server.expect_request(re.compile(rf"^{base}/\d+/comments$"), method="POST").respond_with_handler(
            self._comment
        )
        server.expect_request(re.compile(rf"^{base}/\d+$"), method="PATCH").respond_with_handler(self._update)
        self.states: dict[int, str] = {}
        self.url = server.url_for("")

    def _refuse(self, request: Request) -> Response | None:
        self.requests.append((request.path, dict(request.headers)))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return Response(json.dumps({"message": "Bad credentials"}), 401, content_type="application/json")
        if request.headers.get("X-GitHub-Api-Version") != "2022-11-28":
            return Response(
                json.dumps({"message": "unsupported API version"}), 400, content_type="application/json"
            )
        return None

    def _invalid(self, validator: jsonschema.protocols.Validator, body: Any) -> Response | None:
        errors = problems(validator, body)
        if errors:
            return Response(
                json.dumps({"message": "Validation Failed", "errors": errors}),
                422,
                content_type="application/json",
            )
        return None

    def _create(self, request: Request) -> Response:
        body = _json(request)
        refused = self._refuse(request) or self._invalid(GITHUB_CREATE, body)
        if refused:
            return refused
        number = next(self.numbers)
        self.issues[number] = body
        return Response(
            json.dumps(
                {"number": number, "html_url": f"https://github.test/issues/{number}", "title": body["title"]}
            ),
            201,
            content_type="application/json",
        )

    def _comment(self, request: Request) -> Response:
        body = _json(request)
        refused = self._refuse(request) or self._invalid(GITHUB_COMMENT, body)
        if refused:
            return refused
        number = int(request.path.split("/")[-2])
        if number not in self.issues:
            return Response(json.dumps({"message": "Not Found"}), 404, content_type="application/json")
        self.comments.append((number, body["body"]))
        return Response(
            json.dumps({"id": len(self.comments), "body": body["body"]}), 201, content_type="application/json"
        )

    def _update(self, request: Request) -> Response:
        body = _json(request)
        refused = self._refuse(request) or self._invalid(GITHUB_UPDATE, body)
        if refused:
            return refused
        number = int(request.path.split("/")[-1])
        if number not in self.issues:
            return Response(json.dumps({"message": "Not Found"}), 404, content_type="application/json")
        if "state" in body:
            self.states[number] = body["state"]
        return Response(json.dumps({"number": number, "state": self.states.get(number, "open")}), 200,
                        content_type="application/json")


class FakeJira:
    def __init__(self, server: HTTPServer, *, email: str, token: str) -> None:
        self.auth = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        self.issues: dict[str, dict[str, Any]] = {}
        self.comments: list[tuple[str, Any]] = []
        self.ids = itertools.count(10001)
        server.expect_request("/rest/api/3/issue", method="POST").respond_with_handler(self._create)
        server.expect_request(
            re.compile(r"^/rest/api/3/issue/[A-Z]+-\d+/comment$"), method="POST"
        ).respond_with_handler(self._comment)
        transitions = re.compile(r"^/rest/api/3/issue/[A-Z]+-\d+/transitions$")
        server.expect_request(transitions, method="GET").respond_with_handler(self._transitions)
        server.expect_request(transitions, method="POST").respond_with_handler(self._transition)
        self.categories: dict[str, str] = {}
        self.url = server.url_for("").rstrip("/")

    def _bad(self, errors: list[str]) -> Response:
        return Response(
            json.dumps({"errorMessages": errors, "errors": {}}), 400, content_type="application/json"
        )

    def _create(self, request: Request) -> Response:
        if request.headers.get("Authorization") != self.auth:
            return Response("", 401)
        body = _json(request)
        errors = problems(JIRA_ISSUE, body)
        if not errors:
            errors = problems(JIRA_FIELDS, body.get("fields", {}))
        if not errors and "description" in body["fields"]:
            errors = problems(ADF, body["fields"]["description"])
        if errors:
            return self._bad(errors)
        issue_id = next(self.ids)
        key = f"{body['fields']['project']['key']}-{issue_id - 10000}"
        self.issues[key] = body
        return Response(
            json.dumps({"id": str(issue_id), "key": key, "self": f"{self.url}/rest/api/3/issue/{issue_id}"}),
            201,
            content_type="application/json",
        )

    def _comment(self, request: Request) -> Response:
        if request.headers.get("Authorization") != self.auth:
            return Response("", 401)
        body = _json(request)
        errors = problems(JIRA_COMMENT, body) or problems(ADF, body.get("body"))
        if errors:
            return self._bad(errors)
        key = request.path.split("/")[-2]
        if key not in self.issues:
            return Response(
                json.dumps({"errorMessages": ["Issue does not exist"]}), 404, content_type="application/json"
            )
        self.comments.append((key, body["body"]))
        return Response(json.dumps({"id": str(len(self.comments))}), 201, content_type="application/json")

    WORKFLOW: ClassVar[dict[str, tuple[str, str]]] = {
        "11": ("To Do", "new"), "21": ("In Progress", "indeterminate"), "31": ("Done", "done")}
    """The transitions of Jira's default software workflow (id -> status name, status category key)."""

    def _transitions(self, request: Request) -> Response:
        if request.headers.get("Authorization") != self.auth:
            return Response("", 401)
        if request.path.split("/")[-2] not in self.issues:
            return Response(json.dumps({"errorMessages": ["Issue does not exist"]}), 404,
                            content_type="application/json")
        listed = [{"id": i, "name": name, "to": {"name": name, "statusCategory": {"key": cat}}}
                  for i, (name, cat) in self.WORKFLOW.items()]
        return Response(json.dumps({"transitions": listed}), 200, content_type="application/json")

    def _transition(self, request: Request) -> Response:
        if request.headers.get("Authorization") != self.auth:
            return Response("", 401)
        body = _json(request)
        errors = problems(JIRA_ISSUE, body)
        transition = (body or {}).get("transition", {}).get("id")
        if not errors and transition not in self.WORKFLOW:
            errors = [f"transition: {transition!r} is not a transition of this issue"]
        for op in (body or {}).get("update", {}).get("comment", []):
            errors += problems(ADF, op.get("add", {}).get("body"))
        if errors:
            return self._bad(errors)
        key = request.path.split("/")[-2]
        self.categories[key] = self.WORKFLOW[transition][1]
        for op in body.get("update", {}).get("comment", []):
            self.comments.append((key, op["add"]["body"]))
        return Response("", 204)
