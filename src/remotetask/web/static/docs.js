// Renders the OpenAPI document of this server as plain HTML: no framework, no CDN.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function resolve(spec, schema) {
  if (schema && schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return spec.components.schemas[name] || {};
  }
  return schema || {};
}

function schemaText(spec, schema, depth) {
  schema = resolve(spec, schema);
  if (depth > 3) return "…";
  if (schema.anyOf) return schema.anyOf.map((s) => schemaText(spec, s, depth + 1)).join(" | ");
  if (schema.type === "array") return "[" + schemaText(spec, schema.items, depth + 1) + "]";
  if (schema.properties) {
    const pad = "  ".repeat(depth + 1);
    const fields = Object.entries(schema.properties).map(
      ([name, sub]) => pad + name + ": " + schemaText(spec, sub, depth + 1)
    );
    return "{\n" + fields.join(",\n") + "\n" + "  ".repeat(depth) + "}";
  }
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  return schema.type || "any";
}

function operation(spec, path, method, op) {
  const body = el("div", {});
  if (op.description) body.append(el("p", {}, op.description));
  const params = op.parameters || [];
  if (params.length) {
    const table = el("table", {}, el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"), el("th", {}, "schema")));
    for (const p of params) {
      table.append(el("tr", {}, el("td", {}, p.name + (p.required ? " *" : "")), el("td", {}, p.in), el("td", {}, schemaText(spec, p.schema, 0))));
    }
    body.append(table);
  }
  const request = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
  if (request) body.append(el("p", {}, "Request body:"), el("pre", {}, schemaText(spec, request.schema, 0)));
  for (const [code, response] of Object.entries(op.responses || {})) {
    const content = response.content && (response.content["application/json"] || response.content["application/problem+json"]);
    body.append(el("p", {}, code + " " + (response.description || "")));
    if (content && content.schema) body.append(el("pre", {}, schemaText(spec, content.schema, 0)));
  }
  const summary = el("summary", {}, el("span", { class: "method " + method }, method), " ", el("code", {}, path), " ", op.summary || "");
  return el("section", { class: "op" }, el("details", {}, summary, body));
}

async function render() {
  const main = document.getElementById("spec");
  try {
    const spec = await (await fetch("/openapi.json")).json();
    main.replaceChildren(el("p", {}, spec.info.title + " " + spec.info.version));
    const groups = {};
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const tag = (op.tags && op.tags[0]) || "other";
        (groups[tag] = groups[tag] || []).push(operation(spec, path, method, op));
      }
    }
    for (const [tag, ops] of Object.entries(groups)) main.append(el("h2", {}, tag), ...ops);
  } catch (error) {
    main.replaceChildren(el("p", {}, "Could not load /openapi.json: " + error));
  }
}

render();
