/**
 * Initial weights for training: from a checkpoint, from an unfolded colinet inference model,
 * and transfer to a network with another class count (COLI-Net's "body fine-tuning": every
 * weight is copied, then all are trained).
 */
import { readFile } from 'node:fs/promises'
import { InputError } from '../errors.js'
import { isCheckpoint, parseCheckpoint } from './checkpoint.js'
import { parseModel, readFloatInitializer } from './graph.js'
import { describeHighResNet, resolveHighResNetOptions, type HighResNetOptions } from './highresnet.js'
import { initialiseWeights, type NetworkWeights } from './weights.js'

/**
 * Reads the weights that `--init` names: a colinet checkpoint (exact, unfolded parameters and
 * BN statistics), or a colinet .onnx model exported with BN unfolded. A model with folded BN
 * is rejected, because a folded convolution weight W·γ/σ no longer separates W from the BN
 * scale γ and the training graph needs both.
 */
export async function loadInitialWeights(path: string): Promise<NetworkWeights> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (error) {
    throw new InputError(`cannot read initial weights ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message}`)
  }
  if (isCheckpoint(bytes)) return parseCheckpoint(bytes, path).weights
  return weightsFromInferenceModel(bytes, path)
}

function weightsFromInferenceModel(bytes: Uint8Array, source: string): NetworkWeights {
  let model
  try {
    model = parseModel(bytes)
  } catch {
    throw new InputError(`${source}: neither a colinet checkpoint nor an ONNX model; pass the checkpoint of a training run`)
  }
  const props = new Map(model.metadataProps.map((p) => [p.key ?? '', p.value ?? '']))
  const architecture = props.get('colinet.architecture')
  if (architecture === undefined) {
    throw new InputError(`${source}: the model has no colinet.architecture metadata, so its layers cannot be matched; pass a colinet checkpoint`)
  }
  if (props.get('colinet.batchNormFolded') !== 'false') {
    throw new InputError(`${source}: BN is folded into the convolutions of this model, so the trained parameters cannot be recovered; pass the checkpoint of the training run that produced it (or a model exported with BN unfolded)`)
  }

  const options = resolveHighResNetOptions(JSON.parse(architecture) as HighResNetOptions)
  const initializers = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? '', t]))
  const take = (name: string) => {
    const tensor = initializers.get(name)
    if (tensor === undefined) throw new InputError(`${source}: the model has no initializer ${name}; it does not match its colinet.architecture metadata`)
    return readFloatInitializer(tensor)
  }
  const summary = describeHighResNet(options)
  const parameters = new Map(summary.parameters.map((p) => [p.name, take(p.name)]))
  const statistics = new Map<string, Float32Array>()
  for (const bn of summary.batchNorms) {
    statistics.set(`${bn.name}.runningMean`, take(`${bn.name}.runningMean`))
    statistics.set(`${bn.name}.runningVar`, take(`${bn.name}.runningVar`))
  }
  return { options, parameters, statistics }
}

/**
 * Copies every parameter and BN statistic of `source` into a network with `classes` output
 * classes. The output convolution is re-initialised (He, `seed`) when the class count differs;
 * every other layer must have the same shape, else InputError.
 */
export function transferWeights(source: NetworkWeights, classes: number, seed: number): NetworkWeights {
  const options = resolveHighResNetOptions({ ...source.options, classes })
  const target = initialiseWeights(options, seed)
  for (const [name, values] of target.parameters) {
    const from = source.parameters.get(name)
    if (from !== undefined && from.length === values.length) {
      values.set(from)
    } else if (!name.startsWith('output.')) {
      throw new InputError(`cannot transfer ${name}: the source network has ${from?.length ?? 'no'} values, the target needs ${values.length}; use the same channels and blocks per stage`)
    }
  }
  for (const [name, values] of target.statistics) {
    const from = source.statistics.get(name)
    if (from !== undefined && from.length === values.length) values.set(from)
  }
  return target
}
