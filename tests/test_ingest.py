"""Ingesting the bundled specs: every mapped feature, checked on the tools it produces."""

from __future__ import annotations

from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import SPECS
from tools.catalog import Catalog
from tools.ingest import ingest_spec, load_document, spec_hash


@pytest.fixture(scope="module")
def petstore() -> Catalog:
    return ingest_spec(SPECS / "petstore.yaml")


@pytest.fixture(scope="module")
def library() -> Catalog:
    return ingest_spec(SPECS / "library-3.1.yaml")


@pytest.fixture(scope="module")
def store() -> Catalog:
    return ingest_spec(SPECS / "swagger2-store.yaml")


def test_path_item_parameters_are_merged_and_the_operation_wins(petstore: Catalog) -> None:
    get = petstore.get("getPet")
    assert [(a.name, a.location) for a in get.binding.args] == [
        ("petId", "path"),
        ("lang", "cookie"),
    ]
    put = petstore.get("updatePetWithForm")
    lang = put.parameters["properties"]["lang"]
    assert lang["enum"] == ["en", "fr"]  # the operation's own declaration
    assert [a.name for a in put.binding.args].count("lang") == 1


def test_servers_keep_their_variables(petstore: Catalog) -> None:
    (server,) = petstore.get("listPets").binding.servers
    assert server.url == "https://{region}.petstore.example.com/{basePath}"
    assert server.variables["region"].default == "eu"
    assert server.variables["region"].enum == ["eu", "us"]


def test_path_level_servers_override_the_root(library: Catalog) -> None:
    assert (
        library.get("getSubject").binding.servers[0].url == "https://subjects.library.example.org"
    )
    assert library.get("searchBooks").binding.servers[0].url == "https://library.example.org/api"


def test_server_override_replaces_every_server() -> None:
    catalog = ingest_spec(SPECS / "petstore.yaml", server="http://127.0.0.1:9999/")
    assert {t.binding.servers[0].url for t in catalog} == {"http://127.0.0.1:9999"}


def test_parameter_styles(petstore: Catalog, store: Catalog) -> None:
    args = {a.name: a for a in petstore.get("listPets").binding.args}
    assert (args["status"].style, args["status"].explode) == ("form", False)
    assert (args["filter"].style, args["filter"].explode) == ("deepObject", True)
    assert args["X-Request-Id"].location == "header"
    assert (args["limit"].style, args["limit"].explode) == ("form", True)
    swagger = {a.name: a for a in store.get("listItems").binding.args}
    assert (swagger["tags"].style, swagger["tags"].explode) == ("form", True)  # multi
    assert swagger["ids"].style == "pipeDelimited"


def test_json_body_prefers_json_and_drops_read_only(petstore: Catalog) -> None:
    tool = petstore.get("createPet")
    assert tool.binding.body is not None
    assert (tool.binding.body.media_type, tool.binding.body.kind) == ("application/json", "json")
    body = tool.parameters["properties"]["body"]
    assert "id" not in body["properties"]
    assert body["required"] == ["name"]
    assert tool.parameters["required"] == ["body"]


def test_response_schemas_keep_read_only_and_resolve_lazily(petstore: Catalog) -> None:
    schema = petstore.response_schema("getPet", 200)
    assert schema is not None
    assert "id" in schema["properties"]
    error = petstore.response_schema("getPet", 404)
    assert error is not None
    assert error["required"] == ["code", "message"]
    assert petstore.response_schema("deletePet", 204) is None


def test_nullable_allof_and_discriminator(petstore: Catalog) -> None:
    props = petstore.get("createPet").parameters["properties"]["body"]["properties"]
    assert props["birthday"]["type"] == ["string", "null"]
    assert props["owner"]["anyOf"][1] == {"type": "null"}
    assert props["owner"]["anyOf"][0]["properties"]["email"]["format"] == "email"
    assert props["kind"]["discriminator"] == {"propertyName": "species"}
    assert len(props["kind"]["oneOf"]) == 2
    assert props["name"]["examples"] == ["Rex"]  # example -> examples


def test_openapi_only_keywords_are_dropped(petstore: Catalog) -> None:
    text = str(petstore.response_schema("getOrder", 200)) + str(
        petstore.get("createPet").parameters
    )
    assert "xml" not in text
    assert "externalDocs" not in text


def test_form_and_multipart_bodies(petstore: Catalog, store: Catalog) -> None:
    form = petstore.get("updatePetWithForm").binding.body
    assert form is not None
    assert form.kind == "form"
    assert form.encoding["tags"].style == "form"
    assert form.encoding["tags"].explode is True
    upload = petstore.get("post_pets_petId_photos")
    assert upload.binding.body is not None
    assert upload.binding.body.kind == "multipart"
    assert upload.binding.body.encoding["file"].content_type == "image/png, image/jpeg"
    assert upload.parameters["properties"]["body"]["properties"]["file"]["format"] == "binary"
    swagger_upload = store.get("uploadItemImage").binding.body
    assert swagger_upload is not None
    assert swagger_upload.media_type == "multipart/form-data"
    rate = store.get("rateItem")
    assert rate.binding.body is not None
    assert rate.binding.body.kind == "form"
    assert rate.parameters["properties"]["body"]["required"] == ["stars"]


def test_text_body_and_vendor_json(library: Catalog) -> None:
    note = library.get("addNote")
    assert note.binding.body is not None
    assert note.binding.body.kind == "text"
    assert note.parameters["properties"]["body"] == {"type": "string", "maxLength": 2000}
    add = library.get("addBook").binding.body
    assert add is not None
    assert (add.kind, add.media_type) == (
        "json",
        "application/vnd.library+json",
    )


def test_security_schemes_and_requirements(petstore: Catalog, store: Catalog) -> None:
    schemes = petstore.security_schemes
    assert schemes["api_key"].location == "header"
    assert schemes["api_key"].param_name == "X-API-Key"
    assert schemes["bearer"].scheme == "bearer"
    assert schemes["oauth"].token_url == "https://auth.petstore.example.com/token"
    assert petstore.get("listPets").binding.security == [{"api_key": []}, {"oauth": ["pets:read"]}]
    assert petstore.get("createPet").binding.security == [{"oauth": ["pets:write"]}]
    assert store.security_schemes["basic"].type == "http"
    assert store.security_schemes["oauth"].token_url == "https://store.example.com/oauth/token"
    assert store.get("deleteItem").binding.security == [{"basic": []}]


def test_side_effects(petstore: Catalog, library: Catalog) -> None:
    assert petstore.get("listPets").binding.side_effect == "safe"
    assert petstore.get("createPet").binding.side_effect == "unsafe"
    assert petstore.get("updatePetWithForm").binding.side_effect == "idempotent"
    assert petstore.get("deletePet").binding.side_effect == "unsafe"  # isConsequential: true
    assert library.get("addNote").binding.side_effect == "idempotent"  # isConsequential: false


def test_names_descriptions_and_deprecation(petstore: Catalog) -> None:
    assert "post_pets_petId_photos" in petstore  # no operationId: method + path
    order = petstore.get("getOrder")
    assert order.deprecated
    assert order.description.startswith("Deprecated.")
    assert petstore.get("listPets").description.startswith("List pets. Lists the pets")


def test_type_arrays_recursion_and_webhooks_in_3_1(library: Catalog) -> None:
    assert library.names() == ["searchBooks", "addBook", "getSubject", "replaceSubject", "addNote"]
    assert library.get("searchBooks").parameters["properties"]["year"]["type"] == [
        "integer",
        "null",
    ]
    params = library.get("addBook").parameters
    subject = params["$defs"]["Subject"]
    assert subject["properties"]["children"]["items"] == {"$ref": "#/$defs/Subject"}
    body = params["properties"]["body"]
    assert body["properties"]["subject"] == {
        "$ref": "#/$defs/Subject",
        "description": "The book's main subject.",
    }
    assert "isbn" not in body["properties"]
    assert body["properties"]["format"]["enum"][-1] is None
    assert list(params["$defs"]) == ["Subject"]  # only what the tool reaches


def test_swagger2_servers_prefer_https_and_definitions_resolve(store: Catalog) -> None:
    assert [s.url for s in store.get("listItems").binding.servers] == [
        "https://store.example.com/v2",
        "http://store.example.com/v2",
    ]
    item = store.get("createItem").parameters["$defs"]["Item"]
    assert item["properties"]["price"] == {"type": "number", "exclusiveMinimum": 0}
    assert item["properties"]["note"]["type"] == ["string", "null"]  # x-nullable
    assert "id" not in item["properties"]
    refs = store.get("listItems").binding.responses
    assert refs[0].pointer == "/paths/~1items/get/responses/200/schema"
    schema = store.response_schema("listItems", 200)
    assert schema is not None
    assert schema["items"] == {"$ref": "#/$defs/Item"}


def test_multi_file_spec_follows_relative_refs() -> None:
    catalog = ingest_spec(SPECS / "multifile" / "openapi.yaml")
    assert catalog.names() == ["addPerson", "getPerson"]
    add = catalog.get("addPerson").parameters
    assert add["properties"]["body"] == {"$ref": "#/$defs/person"}
    person = add["$defs"]["person"]
    assert person["properties"]["spouse"] == {"$ref": "#/$defs/person"}
    assert "id" not in person["properties"]
    get = catalog.get("getPerson")
    assert get.binding.args[0].wire_name == "personId"
    (ref,) = get.binding.responses
    assert ref.pointer is not None
    assert ref.pointer.startswith("components/paths.yaml#/")
    schema = catalog.response_schema("getPerson", 200)
    assert schema is not None
    assert "id" in schema["$defs"]["person"]["properties"]


def test_strict_variant(petstore: Catalog, library: Catalog) -> None:
    strict = petstore.get("listPets").strict_parameters
    assert strict is not None
    assert strict["required"] == list(strict["properties"])
    assert strict["additionalProperties"] is False
    assert strict["properties"]["limit"]["type"] == ["integer", "null"]
    assert "minimum" in strict["properties"]["limit"]
    assert "default" not in strict["properties"]["limit"]
    assert petstore.get("createPet").strict_parameters is None  # oneOf cannot be strict
    recursive = library.get("replaceSubject").strict_parameters
    assert recursive is not None
    assert recursive["$defs"]["Subject"]["additionalProperties"] is False


def test_every_bundled_schema_is_valid() -> None:
    for path in [*SPECS.glob("*.yaml"), SPECS / "multifile" / "openapi.yaml"]:
        for tool in ingest_spec(path):
            Draft202012Validator.check_schema(tool.parameters)
            if tool.strict_parameters is not None:
                Draft202012Validator.check_schema(tool.strict_parameters)


def test_dict_source_and_load_document() -> None:
    doc, label = load_document(SPECS / "petstore.yaml")
    assert doc["openapi"] == "3.0.3"
    assert label.endswith("petstore.yaml")
    catalog = ingest_spec(doc)
    assert catalog.source == "<dict>"
    assert catalog.names() == ingest_spec(SPECS / "petstore.yaml").names()


def test_spec_hash_covers_referenced_files(tmp_path: Path) -> None:
    main = tmp_path / "api.yaml"
    part = tmp_path / "part.yaml"
    main.write_text(
        "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n"
        "      parameters: [{$ref: 'part.yaml#/P'}]\n      responses: {'200': {description: ok}}\n"
    )
    part.write_text("P: {name: q, in: query, schema: {type: string}}\n")
    before = spec_hash(main)
    assert ingest_spec(main).spec_hash == before
    part.write_text("P: {name: q, in: query, schema: {type: integer}}\n")
    assert spec_hash(main) != before
