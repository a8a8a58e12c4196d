"""What the API answers: one pydantic model per answer, in one module per resource.

The OpenAPI document describes exactly these models (``api.openapi``), and the schema fuzz
test checks every answer against them. Fields are camelCase on the wire; unknown extra fields
are allowed, so an answer may grow a field without breaking a client. Free-form JSON that an
agent or a user chose (checkpoint state, results, details) is an open object.
"""
