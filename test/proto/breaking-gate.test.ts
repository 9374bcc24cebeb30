// The breaking-change gate, exercised with the real buf binary: a temporary
// copy of proto/ is built into a baseline image, edited, and checked with the
// project's own buf.yaml.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { BUF, PROJECT_ROOT, runCommand } from "../support/commands";

const PROTO_FILE = "proto/product/v1/product.proto";

let workspace: string;
let baseline: string;

async function editProto(edit: (source: string) => string): Promise<void> {
  const file = path.join(workspace, PROTO_FILE);
  const source = await readFile(file, "utf8");
  const edited = edit(source);
  expect(edited).not.toBe(source); // the edit must have matched something
  await writeFile(file, edited);
}

function breaking() {
  return runCommand(BUF, ["breaking", "--against", baseline], workspace);
}

beforeAll(async () => {
  const original = await mkdtemp(path.join(os.tmpdir(), "buf-gate-"));
  baseline = path.join(original, "baseline.binpb");
  await cp(path.join(PROJECT_ROOT, "buf.yaml"), path.join(original, "buf.yaml"));
  await cp(path.join(PROJECT_ROOT, "proto/product"), path.join(original, "proto/product"), { recursive: true });
  const built = await runCommand(BUF, ["build", "-o", baseline], original);
  expect(built).toEqual({ code: 0, output: "" });
});

beforeEach(async () => {
  workspace = await mkdtemp(path.join(os.tmpdir(), "buf-gate-edit-"));
  await cp(path.join(PROJECT_ROOT, "buf.yaml"), path.join(workspace, "buf.yaml"));
  await cp(path.join(PROJECT_ROOT, "proto/product"), path.join(workspace, "proto/product"), { recursive: true });
});

afterEach(async () => {
  await rm(workspace, { recursive: true, force: true });
});

test("the unedited proto passes", async () => {
  expect(await breaking()).toEqual({ code: 0, output: "" });
});

test("reusing a deleted field's number for a new field is refused, naming the field", async () => {
  await editProto((source) => source.replace("repeated string tags = 7;", "string sku = 7;"));
  const result = await breaking();
  expect(result.code).not.toBe(0);
  expect(result.output).toContain(PROTO_FILE);
  expect(result.output).toContain('Field "7" on message "Product" changed name from "tags" to "sku".');
});

test("deleting a field without reserving its number and name is refused", async () => {
  await editProto((source) => source.replace(/\s*\/\/ Free-form labels[^\n]*\n\s*repeated string tags = 7;/, ""));
  const result = await breaking();
  expect(result.code).not.toBe(0);
  expect(result.output).toMatch(/field "7" with name "tags" on message "Product" was deleted/i);
});

test("deleting a field is refused even when reserved: FILE rules make a deletion a deliberate release", async () => {
  await editProto((source) => source.replace("repeated string tags = 7;", 'reserved 7;\n  reserved "tags";'));
  const result = await breaking();
  expect(result.code).not.toBe(0);
  expect(result.output).toMatch(/field "7" with name "tags" on message "Product" was deleted/i);
});

test("a reserved number cannot be reused once the deletion is released", async () => {
  await editProto((source) =>
    source.replace("repeated string tags = 7;", 'reserved 7;\n  reserved "tags";\n  string sku = 7;'),
  );
  const result = await runCommand(BUF, ["build"], workspace);
  expect(result.code).not.toBe(0);
  expect(result.output).toMatch(/sku.*reserved|reserved.*7/i);
});

test("deleting an RPC is refused", async () => {
  await editProto((source) =>
    source.replace(/\n\s*rpc DeleteProduct\(DeleteProductRequest\) returns \(google\.protobuf\.Empty\);/, ""),
  );
  const result = await breaking();
  expect(result.code).not.toBe(0);
  expect(result.output).toMatch(/Previously present RPC "DeleteProduct" on service "ProductService" was deleted/);
});

test("renaming an RPC is refused", async () => {
  await editProto((source) => source.replace("rpc GetProduct(", "rpc FetchProduct("));
  const result = await breaking();
  expect(result.code).not.toBe(0);
  expect(result.output).toMatch(/RPC "GetProduct" on service "ProductService" was deleted/);
});

test("adding a field with a fresh number passes", async () => {
  await editProto((source) =>
    source.replace(
      "repeated string tags = 7;",
      "repeated string tags = 7;\n  // Stock keeping unit.\n  string sku = 8;",
    ),
  );
  expect(await breaking()).toEqual({ code: 0, output: "" });
});

test("adding an RPC passes", async () => {
  await editProto((source) =>
    source
      .replace(
        "rpc UpdatePrice(",
        "rpc ArchiveProduct(ArchiveProductRequest) returns (ArchiveProductResponse);\n  rpc UpdatePrice(",
      )
      .concat("\nmessage ArchiveProductRequest {\n  string id = 1;\n}\n\nmessage ArchiveProductResponse {}\n"),
  );
  expect(await breaking()).toEqual({ code: 0, output: "" });
});
