/** The instrumentation scope of the tracer and meter: this package's name. */
export const INSTRUMENTATION_NAME = '@stowage/opentelemetry';
