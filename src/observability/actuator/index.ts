export { type Actuator, type ActuatorOptions, startActuator } from './server';
export { componentProbes } from './components';
export { aggregate, passes, type Health, type HealthReport, type Status } from './health';
