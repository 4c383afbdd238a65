import type { ServiceDef } from '../types.ts';
import { kafka } from './kafka.ts';
import { mlflow } from './mlflow.ts';
import { postgres } from './postgres.ts';
import { s3 } from './s3.ts';
import { temporal } from './temporal.ts';

export const services: ServiceDef[] = [postgres, s3, kafka, temporal, mlflow];
