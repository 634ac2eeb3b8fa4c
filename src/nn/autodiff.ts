/**
 * Reverse-mode differentiation of ONNX graphs built through a tape.
 *
 * Each tape operation emits its forward ONNX nodes into a GraphBuilder right away and records
 * a backward rule. `backward(loss)` then walks the records in reverse and emits the gradient
 * nodes into the same graph, so one ONNX graph computes the loss and every requested gradient.
 * Gradients are summed (Add) where a value feeds several operations.
 *
 * Supported operations and the ONNX nodes of their gradients (y = output, dy = its gradient):
 *   Conv (3x3 or 1x1, dilation d, padding d·(k-1)/2, stride 1)
 *       dx = ConvTranspose(dy, W) with the same dilation and padding
 *       dW[:, :, ky, kx] = Σ_n dy_n · shift(x_n, ky·d, kx·d)ᵀ, nine FusedMatMul (transB) of
 *         [Cout, H·W] by [Cin, H·W] on shifted slices of the padded input, summed over n
 *       db = ReduceSum(dy) over n, h, w
 *   BatchNormalization, training mode (batch statistics; written as ReduceMean, Sub, Mul,
 *       Sqrt, Reciprocal because the backward needs x̂ and 1/σ, which the ONNX op does not output)
 *       dβ = Σ dy, dγ = Σ dy·x̂, dx = γ/σ · (dy - (dβ + x̂·dγ)/M), M = n·h·w
 *   LeakyRelu: dx = dy where y > 0, else slope·dy (decided from y: same sign as x when slope > 0)
 *   Add, Sub, Mul, Div with broadcasting: the gradient of a broadcast input is ReduceSum over
 *       the broadcast axes (keepdims)
 *   Pad of the channel axis with zeros: dx = Slice(dy) of the original channels
 *   Softmax over axis 1: dx = y·(dy - Σ_c dy·y)
 *   Log: dx = dy / x
 *   ReduceSum over given axes with keepdims = 1: dx = dy broadcast back (Expand)
 *
 * Shapes are tracked per value (fixed sizes or symbolic names) to find broadcast axes.
 */
import { attr, type Dim, type GraphBuilder } from './graph.js'

type Backward = (gradient: string) => void

interface Record {
  output: string
  backward: Backward
}

export interface ConvAttributes {
  kernel: 1 | 3
  dilation: number
}

export class Tape {
  private readonly records: Record[] = []
  private readonly shapes = new Map<string, Dim[]>()
  private readonly differentiable = new Set<string>()
  private readonly gradients = new Map<string, string>()
  private elementCountCache: string | undefined

  constructor(readonly graph: GraphBuilder) {}

  /** Registers a graph input or initializer with its shape; `requiresGradient` makes backward compute its gradient. */
  value(name: string, dims: Dim[], requiresGradient = false): string {
    this.shapes.set(name, dims)
    if (requiresGradient) this.differentiable.add(name)
    return name
  }

  shapeOf(name: string): Dim[] {
    const dims = this.shapes.get(name)
    if (dims === undefined) throw new Error(`tape: unknown value ${name}`)
    return dims
  }

  /** Adds a float32 constant (never differentiated) of the given shape. */
  constant(values: number[] | number, dims?: number[]): string {
    const name = this.graph.constantFloat(values, dims)
    this.shapes.set(name, dims ?? (typeof values === 'number' ? [] : [values.length]))
    return name
  }

  /** Returns the gradient of `name` after backward(), or undefined if none reached it. */
  gradientOf(name: string): string | undefined {
    return this.gradients.get(name)
  }

  conv(x: string, weight: string, bias: string | undefined, conv: ConvAttributes): string {
    const pad = conv.dilation * ((conv.kernel - 1) / 2)
    const convAttributes = {
      kernel_shape: attr.ints([conv.kernel, conv.kernel]),
      dilations: attr.ints([conv.dilation, conv.dilation]),
      pads: attr.ints([pad, pad, pad, pad]),
    }
    const inputs = bias === undefined ? [x, weight] : [x, weight, bias]
    const y = this.graph.op('Conv', inputs, convAttributes)
    const [n, , h, w] = this.shapeOf(x)
    const [outChannels, inChannels] = this.shapeOf(weight) as number[]

    return this.record(y, [n!, outChannels!, h!, w!], inputs, (dy) => {
      const g = this.graph
      if (this.needs(x)) this.accumulate(x, g.op('ConvTranspose', [dy, weight], convAttributes))
      if (this.needs(weight)) this.accumulate(weight, this.convWeightGradient(x, dy, conv, inChannels!, outChannels!))
      if (bias !== undefined && this.needs(bias)) {
        this.accumulate(bias, g.op('ReduceSum', [dy, g.constantInt64([0, 2, 3])], { keepdims: attr.int(0) }))
      }
    })
  }

  /**
   * BN in training mode over axes n, h, w. Returns y and the updated running statistics
   * running' = (1 - momentum)·running + momentum·batch (batch variance is the biased one).
   */
  batchNormTraining(
    x: string,
    scale: string,
    bias: string,
    runningMean: string,
    runningVar: string,
    epsilon: number,
    momentum: number,
  ): { y: string; runningMean: string; runningVar: string } {
    const g = this.graph
    const channels = this.shapeOf(scale)[0] as number
    const perChannel = g.constantInt64([1, channels, 1, 1])
    const reduce = { axes: attr.ints([0, 2, 3]), keepdims: attr.int(1) }

    const mean = g.op('ReduceMean', [x], reduce)
    const centred = g.op('Sub', [x, mean])
    const variance = g.op('ReduceMean', [g.op('Mul', [centred, centred])], reduce)
    const inverseStd = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, g.constantFloat(epsilon)])])])
    const normalised = g.op('Mul', [centred, inverseStd])
    const scaleColumn = g.op('Reshape', [scale, perChannel])
    const y = g.op('Add', [g.op('Mul', [normalised, scaleColumn]), g.op('Reshape', [bias, perChannel])])

    const flat = g.constantInt64([channels])
    const blend = (running: string, batch: string) => g.op('Add', [
      g.op('Mul', [running, g.constantFloat(1 - momentum)]),
      g.op('Mul', [g.op('Reshape', [batch, flat]), g.constantFloat(momentum)]),
    ])
    const newMean = blend(runningMean, mean)
    const newVar = blend(runningVar, variance)

    this.record(y, this.shapeOf(x), [x, scale, bias], (dy) => {
      const sumAxes = g.constantInt64([0, 2, 3])
      const dBias = g.op('ReduceSum', [dy, sumAxes], { keepdims: attr.int(1) })
      const dScale = g.op('ReduceSum', [g.op('Mul', [dy, normalised]), sumAxes], { keepdims: attr.int(1) })
      if (this.needs(bias)) this.accumulate(bias, g.op('Reshape', [dBias, flat]))
      if (this.needs(scale)) this.accumulate(scale, g.op('Reshape', [dScale, flat]))
      if (!this.needs(x)) return
      const count = this.elementsPerChannel(x)
      const correction = g.op('Add', [g.op('Mul', [normalised, g.op('Div', [dScale, count])]), g.op('Div', [dBias, count])])
      const factor = g.op('Mul', [scaleColumn, inverseStd])
      this.accumulate(x, g.op('Mul', [g.op('Sub', [dy, correction]), factor]))
    })
    return { y, runningMean: newMean, runningVar: newVar }
  }

  leakyRelu(x: string, slope: number): string {
    if (!(slope > 0)) throw new Error(`leakyRelu: the backward rule reads the sign from the output and needs slope > 0, got ${slope}`)
    const g = this.graph
    const y = g.op('LeakyRelu', [x], { alpha: attr.float(slope) })
    return this.record(y, this.shapeOf(x), [x], (dy) => {
      const positive = g.op('Greater', [y, g.constantFloat(0)])
      this.accumulate(x, g.op('Where', [positive, dy, g.op('Mul', [dy, g.constantFloat(slope)])]))
    })
  }

  add(a: string, b: string): string {
    const y = this.graph.op('Add', [a, b])
    return this.record(y, this.broadcastShape(a, b), [a, b], (dy) => {
      if (this.needs(a)) this.accumulate(a, this.unbroadcast(dy, y, a))
      if (this.needs(b)) this.accumulate(b, this.unbroadcast(dy, y, b))
    })
  }

  sub(a: string, b: string): string {
    const g = this.graph
    const y = g.op('Sub', [a, b])
    return this.record(y, this.broadcastShape(a, b), [a, b], (dy) => {
      if (this.needs(a)) this.accumulate(a, this.unbroadcast(dy, y, a))
      if (this.needs(b)) this.accumulate(b, this.unbroadcast(g.op('Neg', [dy]), y, b))
    })
  }

  mul(a: string, b: string): string {
    const g = this.graph
    const y = g.op('Mul', [a, b])
    return this.record(y, this.broadcastShape(a, b), [a, b], (dy) => {
      if (this.needs(a)) this.accumulate(a, this.unbroadcast(g.op('Mul', [dy, b]), y, a))
      if (this.needs(b)) this.accumulate(b, this.unbroadcast(g.op('Mul', [dy, a]), y, b))
    })
  }

  div(a: string, b: string): string {
    const g = this.graph
    const y = g.op('Div', [a, b])
    return this.record(y, this.broadcastShape(a, b), [a, b], (dy) => {
      const da = g.op('Div', [dy, b])
      if (this.needs(a)) this.accumulate(a, this.unbroadcast(da, y, a))
      // d(a/b)/db = -a/b² = -y/b
      if (this.needs(b)) this.accumulate(b, this.unbroadcast(g.op('Neg', [g.op('Mul', [da, y])]), y, b))
    })
  }

  /** Appends zero channels (axis 1) up to `toChannels`. */
  padChannels(x: string, toChannels: number): string {
    const g = this.graph
    const [n, fromChannels, h, w] = this.shapeOf(x)
    const y = g.op('Pad', [x, g.constantInt64([0, 0, 0, 0, 0, toChannels - (fromChannels as number), 0, 0])], { mode: attr.string('constant') })
    return this.record(y, [n!, toChannels, h!, w!], [x], (dy) => {
      this.accumulate(x, g.op('Slice', [dy, g.constantInt64([0]), g.constantInt64([fromChannels as number]), g.constantInt64([1])]))
    })
  }

  /** Softmax over axis 1. */
  softmax(x: string): string {
    const g = this.graph
    const y = g.op('Softmax', [x], { axis: attr.int(1) })
    return this.record(y, this.shapeOf(x), [x], (dy) => {
      const inner = g.op('ReduceSum', [g.op('Mul', [dy, y]), g.constantInt64([1])], { keepdims: attr.int(1) })
      this.accumulate(x, g.op('Mul', [y, g.op('Sub', [dy, inner])]))
    })
  }

  /** Natural logarithm, elementwise. */
  log(x: string): string {
    const g = this.graph
    const y = g.op('Log', [x])
    return this.record(y, this.shapeOf(x), [x], (dy) => {
      this.accumulate(x, g.op('Div', [dy, x]))
    })
  }

  /**
   * Returns n·h·w of a [n, c, h, w] value as a float32 scalar computed at run time, usable as a
   * tape constant. NOTE: the count is cached from the first value asked, which is right only
   * while every [n, c, h, w] value of the graph shares n, h and w (true of HighResNet, which never
   * changes the resolution).
   */
  pixelCount(x: string): string {
    const count = this.elementsPerChannel(x)
    this.shapes.set(count, [])
    return count
  }

  /** ReduceSum over `axes`, keeping them as size 1. */
  reduceSum(x: string, axes: number[]): string {
    const g = this.graph
    const xShape = this.shapeOf(x)
    const shape = g.op('Shape', [x])
    const y = g.op('ReduceSum', [x, g.constantInt64(axes)], { keepdims: attr.int(1) })
    return this.record(y, xShape.map((d, i) => (axes.includes(i) ? 1 : d)), [x], (dy) => {
      this.accumulate(x, g.op('Expand', [dy, shape]))
    })
  }

  /**
   * Emits the gradient nodes of a scalar-valued `loss` (every dimension 1) with respect to
   * every value registered with requiresGradient that the loss depends on.
   */
  backward(loss: string): void {
    if (this.shapeOf(loss).some((d) => d !== 1)) throw new Error(`backward: loss ${loss} must have only size-1 dimensions`)
    this.gradients.set(loss, this.constant(1, this.shapeOf(loss) as number[]))
    for (let i = this.records.length - 1; i >= 0; i--) {
      const record = this.records[i]!
      const gradient = this.gradients.get(record.output)
      if (gradient !== undefined) record.backward(gradient)
    }
  }

  private record(y: string, dims: Dim[], inputs: string[], backward: Backward): string {
    this.shapes.set(y, dims)
    if (inputs.some((input) => this.differentiable.has(input))) {
      this.differentiable.add(y)
      this.records.push({ output: y, backward })
    }
    return y
  }

  private needs(name: string): boolean {
    return this.differentiable.has(name)
  }

  private accumulate(name: string, gradient: string): void {
    const previous = this.gradients.get(name)
    this.gradients.set(name, previous === undefined ? gradient : this.graph.op('Add', [previous, gradient]))
  }

  /** Sums `dy` (shaped like `y`) over the axes along which `input` was broadcast. */
  private unbroadcast(dy: string, y: string, input: string): string {
    const yShape = this.shapeOf(y)
    const inputShape = this.shapeOf(input)
    if (inputShape.length !== yShape.length) {
      throw new Error(`tape: broadcasting between ranks ${inputShape.length} and ${yShape.length} is not differentiated; reshape ${input} first`)
    }
    const axes = yShape.flatMap((d, i) => (inputShape[i] === 1 && d !== 1 ? [i] : []))
    if (axes.length === 0) return dy
    return this.graph.op('ReduceSum', [dy, this.graph.constantInt64(axes)], { keepdims: attr.int(1) })
  }

  private broadcastShape(a: string, b: string): Dim[] {
    const sa = this.shapeOf(a)
    const sb = this.shapeOf(b)
    if (sb.length === 0) return sa
    if (sa.length === 0) return sb
    if (sa.length !== sb.length) throw new Error(`tape: operands ${a} and ${b} have ranks ${sa.length} and ${sb.length}`)
    return sa.map((d, i) => (d === 1 ? sb[i]! : d))
  }

  /** n·h·w of a [n, c, h, w] value, as a float32 scalar computed at run time. */
  private elementsPerChannel(x: string): string {
    if (this.elementCountCache !== undefined) return this.elementCountCache
    const g = this.graph
    const dims = g.op('Gather', [g.op('Shape', [x]), g.constantInt64([0, 2, 3])], { axis: attr.int(0) })
    const count = g.op('Cast', [g.op('ReduceProd', [dims], { keepdims: attr.int(0) })], { to: attr.int(1) })
    this.elementCountCache = count
    return count
  }

  /** dW of a Conv: see the file comment. */
  private convWeightGradient(x: string, dy: string, conv: ConvAttributes, inChannels: number, outChannels: number): string {
    const g = this.graph
    const flatten = g.constantInt64([0, 0, -1])
    const dyFlat = g.op('Reshape', [dy, flatten])
    const sumBatch = (product: string) => g.op('ReduceSum', [product, g.constantInt64([0])], { keepdims: attr.int(0) })
    const product = (xFlat: string) => sumBatch(g.op('FusedMatMul', [dyFlat, xFlat], { transB: attr.int(1) }, 'com.microsoft'))

    if (conv.kernel === 1) {
      return g.op('Reshape', [product(g.op('Reshape', [x, flatten])), g.constantInt64([outChannels, inChannels, 1, 1])])
    }

    const d = conv.dilation
    const padded = g.op('Pad', [x, g.constantInt64([0, 0, d, d, 0, 0, d, d])], { mode: attr.string('constant') })
    const taps: string[] = []
    for (let ky = 0; ky < 3; ky++) {
      for (let kx = 0; kx < 3; kx++) {
        // The padded image is 2d larger than the output, so tap (ky, kx) is the window
        // starting at (ky·d, kx·d) and ending (2 - k)·d before the end.
        const end = (k: number) => (k === 2 ? 2 ** 31 - 1 : -(2 - k) * d)
        const window = g.op('Slice', [padded, g.constantInt64([ky * d, kx * d]), g.constantInt64([end(ky), end(kx)]), g.constantInt64([2, 3])])
        taps.push(g.op('Unsqueeze', [product(g.op('Reshape', [window, flatten])), g.constantInt64([2])]))
      }
    }
    const stacked = g.op('Concat', taps, { axis: attr.int(2) })
    return g.op('Reshape', [stacked, g.constantInt64([outChannels, inChannels, 3, 3])])
  }
}
