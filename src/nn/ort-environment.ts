/**
 * Environment for ONNX Runtime, set before onnxruntime-node loads. The official Linux binaries
 * (1.31.1 here) send usage telemetry to mobile.events.data.microsoft.com unless
 * ORT_DISABLE_TELEMETRY is set. A tool that reads patient scans must not contact other hosts, so
 * colinet sets the variable unless the user already has. Import this module before onnxruntime-node.
 */
process.env.ORT_DISABLE_TELEMETRY ??= '1'

export {}
