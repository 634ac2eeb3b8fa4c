/**
 * A small builder for ONNX graphs: nodes, graph inputs and outputs, initializers and model
 * metadata, serialised to ModelProto bytes with the protobuf classes of `onnx-proto`.
 *
 * Models use ONNX opset 17 (IR version 8), which onnxruntime-node 1.31 runs on its CPU
 * execution provider, plus the `com.microsoft` contrib domain when a node uses it.
 */
import onnxProto from 'onnx-proto'

const { onnx } = onnxProto

/** The default-domain opset every colinet model imports. */
export const ONNX_OPSET = 17
/** The ONNX IR version that opset 17 belongs to. */
export const ONNX_IR_VERSION = 8

/** A tensor dimension: a fixed size, or the name of a symbolic size such as 'batch'. */
export type Dim = number | string

export type ElementType = 'float32' | 'int64' | 'bool'

/** A node attribute with its ONNX type made explicit (JS numbers do not say int or float). */
export type Attribute =
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string }

export const attr = {
  int: (value: number): Attribute => ({ kind: 'int', value }),
  ints: (value: number[]): Attribute => ({ kind: 'ints', value }),
  float: (value: number): Attribute => ({ kind: 'float', value }),
  floats: (value: number[]): Attribute => ({ kind: 'floats', value }),
  string: (value: string): Attribute => ({ kind: 'string', value }),
}

export interface NodeSpec {
  opType: string
  domain: string
  inputs: string[]
  outputs: string[]
  attributes: Record<string, Attribute>
  name: string
}

export interface ValueSpec {
  name: string
  type: ElementType
  dims: Dim[]
}

export interface InitializerSpec {
  name: string
  type: ElementType
  dims: number[]
  data: Float32Array | BigInt64Array | Uint8Array
}

const ELEMENT_TYPE_CODES: Record<ElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
}

/** Collects the parts of one ONNX graph; every name it hands out is unique within the graph. */
export class GraphBuilder {
  readonly nodes: NodeSpec[] = []
  readonly inputs: ValueSpec[] = []
  readonly outputs: ValueSpec[] = []
  readonly initializers = new Map<string, InitializerSpec>()
  private readonly usedNames = new Set<string>()
  private readonly constantCache = new Map<string, string>()
  private nameCounter = 0

  constructor(readonly graphName: string) {}

  /** Returns `base` if no value uses it yet, else `base_<n>`; adding a value reserves the name. */
  uniqueName(base: string): string {
    let name = base
    while (this.usedNames.has(name)) name = `${base}_${++this.nameCounter}`
    return name
  }

  addInput(name: string, type: ElementType, dims: Dim[]): string {
    this.reserve(name)
    this.inputs.push({ name, type, dims })
    return name
  }

  /** Declares an existing value as a graph output. */
  addOutput(name: string, type: ElementType, dims: Dim[]): void {
    this.outputs.push({ name, type, dims })
  }

  addInitializer(name: string, dims: number[], data: Float32Array | BigInt64Array | Uint8Array, type?: ElementType): string {
    this.reserve(name)
    let elementType: ElementType = 'float32'
    if (data instanceof BigInt64Array) elementType = 'int64'
    if (data instanceof Uint8Array) elementType = 'bool'
    if (type !== undefined) elementType = type
    const expected = dims.reduce((a, b) => a * b, 1)
    if (data.length !== expected) {
      throw new Error(`initializer ${name}: dims [${dims}] need ${expected} values, got ${data.length}`)
    }
    this.initializers.set(name, { name, type: elementType, dims, data })
    return name
  }

  /** Adds a float32 constant initializer, or returns the existing one with the same values and shape. */
  constantFloat(values: number[] | number, dims?: number[]): string {
    const list = typeof values === 'number' ? [values] : values
    const shape = dims ?? (typeof values === 'number' ? [] : [list.length])
    const key = `f:${shape.join('x')}:${list.join(',')}`
    const cached = this.constantCache.get(key)
    if (cached !== undefined) return cached
    const name = this.addInitializer(this.uniqueName('const_f'), shape, Float32Array.from(list))
    this.constantCache.set(key, name)
    return name
  }

  /** Adds a 1D int64 constant initializer (axes, pads, shapes), shared like constantFloat. */
  constantInt64(values: number[]): string {
    const key = `i:${values.join(',')}`
    const cached = this.constantCache.get(key)
    if (cached !== undefined) return cached
    const data = BigInt64Array.from(values.map((v) => BigInt(v)))
    const name = this.addInitializer(this.uniqueName('const_i'), [values.length], data)
    this.constantCache.set(key, name)
    return name
  }

  /**
   * Appends a node and returns its output names. `outputs` is either a count (names are
   * generated from the op type) or explicit names; an empty string input means "absent".
   */
  node(
    opType: string,
    inputs: string[],
    outputs: number | string[] = 1,
    attributes: Record<string, Attribute> = {},
    domain = '',
  ): string[] {
    const base = opType.toLowerCase()
    const outputNames: string[] = []
    for (let i = 0; i < (typeof outputs === 'number' ? outputs : outputs.length); i++) {
      const name = typeof outputs === 'number' ? this.uniqueName(base) : outputs[i]!
      this.reserve(name)
      outputNames.push(name)
    }
    const nodeName = this.uniqueName(`n_${base}`)
    this.reserve(nodeName)
    this.nodes.push({ opType, domain, inputs, outputs: outputNames, attributes, name: nodeName })
    return outputNames
  }

  /** Like node() for single-output ops. */
  op(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, domain = ''): string {
    return this.node(opType, inputs, 1, attributes, domain)[0]!
  }

  private reserve(name: string): void {
    if (this.usedNames.has(name)) throw new Error(`graph ${this.graphName}: name ${name} is already used`)
    this.usedNames.add(name)
  }
}

export interface ModelOptions {
  /** Entries of ModelProto.metadata_props. */
  metadata?: Record<string, string>
  docString?: string
  producerVersion?: string
}

/** Converts the builder's content to an ONNX ModelProto. */
export function toModelProto(graph: GraphBuilder, options: ModelOptions = {}): onnxProto.onnx.ModelProto {
  const usesContribDomain = graph.nodes.some((n) => n.domain === 'com.microsoft')
  const opsetImport = [{ domain: '', version: ONNX_OPSET }]
  if (usesContribDomain) opsetImport.push({ domain: 'com.microsoft', version: 1 })

  return onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport,
    producerName: 'colinet',
    producerVersion: options.producerVersion ?? '',
    docString: options.docString ?? '',
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.graphName,
      node: graph.nodes.map(toNodeProto),
      input: graph.inputs.map(toValueInfo),
      output: graph.outputs.map(toValueInfo),
      initializer: [...graph.initializers.values()].map(toTensorProto),
    },
  })
}

/** Serialises the builder's content as ONNX model bytes. */
export function serializeModel(graph: GraphBuilder, options: ModelOptions = {}): Uint8Array {
  return onnx.ModelProto.encode(toModelProto(graph, options)).finish()
}

/** Parses ONNX model bytes (used to read metadata and initializers back). */
export function parseModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes)
}

/** Reads a float32 initializer of a parsed model into a Float32Array. */
export function readFloatInitializer(tensor: onnxProto.onnx.ITensorProto): Float32Array {
  if (tensor.dataType !== onnx.TensorProto.DataType.FLOAT) {
    throw new Error(`initializer ${tensor.name} is not float32 (data type ${tensor.dataType})`)
  }
  if (tensor.rawData && tensor.rawData.length > 0) {
    const raw = tensor.rawData
    const copy = new Uint8Array(raw.length)
    copy.set(raw)
    return new Float32Array(copy.buffer)
  }
  return Float32Array.from(tensor.floatData ?? [])
}

function toNodeProto(node: NodeSpec): onnxProto.onnx.INodeProto {
  return {
    opType: node.opType,
    domain: node.domain,
    name: node.name,
    input: node.inputs,
    output: node.outputs,
    attribute: Object.entries(node.attributes).map(([name, a]) => toAttributeProto(name, a)),
  }
}

function toAttributeProto(name: string, a: Attribute): onnxProto.onnx.IAttributeProto {
  const types = onnx.AttributeProto.AttributeType
  switch (a.kind) {
    case 'int': return { name, type: types.INT, i: a.value }
    case 'ints': return { name, type: types.INTS, ints: a.value }
    case 'float': return { name, type: types.FLOAT, f: a.value }
    case 'floats': return { name, type: types.FLOATS, floats: a.value }
    case 'string': return { name, type: types.STRING, s: new TextEncoder().encode(a.value) }
  }
}

function toValueInfo(value: ValueSpec): onnxProto.onnx.IValueInfoProto {
  return {
    name: value.name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPE_CODES[value.type],
        shape: { dim: value.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  }
}

function toTensorProto(init: InitializerSpec): onnxProto.onnx.ITensorProto {
  // ONNX raw_data is little-endian, as are the x86-64 and arm64 hosts colinet targets.
  // NOTE: a big-endian host would need a byte swap here.
  const bytes = new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength)
  return { name: init.name, dims: init.dims, dataType: ELEMENT_TYPE_CODES[init.type], rawData: bytes }
}
