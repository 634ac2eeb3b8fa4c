import { attr, GraphBuilder, serializeModel } from '../../src/nn/graph.js'
import { toMetadataProps, DEFAULT_PREPROCESSING } from '../../src/nn/metadata.js'

/**
 * A real ONNX model with the segmentation contract whose output is known in closed form: the
 * foreground probability of a pixel is σ(k(x - low))·σ(k(high - x)) on the preprocessed value x
 * (HU / 1000), so a band of HU is foreground. With the band [-950, -500] HU it finds aerated lung
 * but not the air outside the body; tests use it to check the pipeline's geometry exactly.
 * `threshold`, when given, is stored in the metadata as the model's probability threshold.
 */
export function createHuBandModel(lowHu: number, highHu: number, task = 'lung', sharpness = 60, threshold?: number): Uint8Array {
  const graph = new GraphBuilder('hu_band')
  const image = graph.addInput('image', 'float32', ['batch', 1, 'height', 'width'])
  const k = graph.constantFloat(sharpness)
  const aboveLow = graph.op('Sigmoid', [graph.op('Mul', [graph.op('Sub', [image, graph.constantFloat(lowHu / 1000)]), k])])
  const belowHigh = graph.op('Sigmoid', [graph.op('Mul', [graph.op('Sub', [graph.constantFloat(highHu / 1000), image]), k])])
  const foreground = graph.op('Mul', [aboveLow, belowHigh])
  const background = graph.op('Sub', [graph.constantFloat(1), foreground])
  graph.node('Concat', [background, foreground], ['probabilities'], { axis: attr.int(1) })
  graph.addOutput('probabilities', 'float32', ['batch', 2, 'height', 'width'])
  const metadata = toMetadataProps({
    task,
    classes: ['background', task],
    inputHeight: 216,
    inputWidth: 296,
    preprocessing: DEFAULT_PREPROCESSING,
    trained: true,
    trainingData: `none: HU band ${lowHu}..${highHu}`,
    ...(threshold === undefined ? {} : { threshold }),
  })
  return serializeModel(graph, { metadata })
}
