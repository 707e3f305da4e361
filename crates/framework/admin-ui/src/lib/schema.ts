// Collections and fields as the API returns them, and what the editors need to know
// about each field type.

export type FieldType =
  | "text" | "editor" | "number" | "bool" | "email" | "url" | "date" | "autodate"
  | "select" | "json" | "relation" | "file" | "password" | "geoPoint";

export interface Field {
  id?: string;
  name: string;
  type: FieldType;
  required?: boolean;
  system?: boolean;
  hidden?: boolean;
  [option: string]: any;
}

export interface Collection {
  id: string;
  name: string;
  type: "base" | "auth" | "view";
  system: boolean;
  fields: Field[];
  indexes: string[];
  listRule: string | null;
  viewRule: string | null;
  createRule: string | null;
  updateRule: string | null;
  deleteRule: string | null;
  manageRule?: string | null;
  authRule?: string | null;
  viewQuery?: string;
  [key: string]: any;
}

export type RecordData = Record<string, any>;

export const FIELD_TYPES: { type: FieldType; label: string }[] = [
  { type: "text", label: "Plain text" },
  { type: "editor", label: "Rich editor" },
  { type: "number", label: "Number" },
  { type: "bool", label: "Bool" },
  { type: "email", label: "E-mail" },
  { type: "url", label: "URL" },
  { type: "date", label: "Date" },
  { type: "autodate", label: "Autodate" },
  { type: "select", label: "Select" },
  { type: "json", label: "JSON" },
  { type: "relation", label: "Relation" },
  { type: "file", label: "File" },
  { type: "password", label: "Password" },
  { type: "geoPoint", label: "Geo point" },
];

/** Options each type offers in the schema editor: [key, label, kind]. */
export const FIELD_OPTIONS: Partial<Record<FieldType, [string, string, "number" | "text" | "list" | "bool" | "collection"][]>> = {
  text: [["min", "Min length", "number"], ["max", "Max length", "number"], ["pattern", "Regex pattern", "text"]],
  editor: [["maxSize", "Max size (bytes)", "number"]],
  number: [["min", "Min", "number"], ["max", "Max", "number"], ["onlyInt", "Integers only", "bool"]],
  email: [["onlyDomains", "Only domains", "list"], ["exceptDomains", "Except domains", "list"]],
  url: [["onlyDomains", "Only domains", "list"], ["exceptDomains", "Except domains", "list"]],
  date: [["min", "Min date", "text"], ["max", "Max date", "text"]],
  autodate: [["onCreate", "Set on create", "bool"], ["onUpdate", "Set on update", "bool"]],
  select: [["values", "Values", "list"], ["maxSelect", "Max selected", "number"]],
  json: [["maxSize", "Max size (bytes)", "number"]],
  relation: [["collectionId", "Collection", "collection"], ["maxSelect", "Max selected", "number"], ["cascadeDelete", "Delete with the related record", "bool"]],
  file: [["maxSelect", "Max files", "number"], ["maxSize", "Max size (bytes)", "number"], ["mimeTypes", "MIME types", "list"], ["thumbs", "Thumb sizes", "list"], ["protected", "Protected (needs a file token)", "bool"]],
  password: [["min", "Min length", "number"]],
};

export function newField(type: FieldType, name = ""): Field {
  const f: Field = { name, type, required: false };
  if (type === "select") Object.assign(f, { values: [], maxSelect: 1 });
  if (type === "relation") Object.assign(f, { collectionId: "", maxSelect: 1, cascadeDelete: false });
  if (type === "file") Object.assign(f, { maxSelect: 1, maxSize: 0, mimeTypes: [], thumbs: [], protected: false });
  if (type === "autodate") Object.assign(f, { onCreate: true, onUpdate: false });
  return f;
}

/** Multi-valued select, relation and file fields hold lists. */
export function isMulti(f: Field): boolean {
  return ["select", "relation", "file"].includes(f.type) && Number(f.maxSelect ?? 1) > 1;
}

/** The fields a record form edits (system-managed ones are left out). */
export function editable(c: Collection): Field[] {
  return c.fields.filter(
    (f) => f.type !== "autodate" && f.name !== "id" && f.name !== "tokenKey" && !(c.type === "auth" && f.type === "password"),
  );
}

/** A short text for a value in a table cell. */
export function preview(v: any): string {
  if (v === null || v === undefined || v === "") return "";
  if (Array.isArray(v)) return v.map(preview).join(", ");
  if (typeof v === "object") return JSON.stringify(v);
  const s = String(v);
  return s.length > 80 ? s.slice(0, 77) + "…" : s;
}

export const RULES: { key: keyof Collection; label: string; auth?: boolean }[] = [
  { key: "listRule", label: "List/Search" },
  { key: "viewRule", label: "View" },
  { key: "createRule", label: "Create" },
  { key: "updateRule", label: "Update" },
  { key: "deleteRule", label: "Delete" },
  { key: "authRule", label: "Authentication", auth: true },
  { key: "manageRule", label: "Manage", auth: true },
];
