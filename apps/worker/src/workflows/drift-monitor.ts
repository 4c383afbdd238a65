import {
  ApplicationFailure,
  ParentClosePolicy,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  startChild,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { AlertNotificationInput, DriftMonitorCarry, DriftMonitorInput } from '@shepherd/contracts/drift';
import { taskQueues } from '@shepherd/contracts/training';
import type { Activities } from '../activities/index.ts';
import type { Remedy } from '../activities/drift.ts';
import { rollback } from './canary-rollout.ts';
import { trainingPipeline } from './training-pipeline.ts';

const io = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 10, initialInterval: '1 second', nonRetryableErrorTypes: ['ShepherdError'] },
});

/** Reading a window of a busy topic and judging it can take a while; it is retried as a whole. */
const judging = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5, initialInterval: '2 seconds', nonRetryableErrorTypes: ['ShepherdError'] },
});

export const stopMonitorSignal = defineSignal<[{ actor: string }]>('stopMonitor');

export interface MonitorStatus {
  sequence: number;
  lastWindowEnd: string | null;
  lastDrifted: boolean;
  lastPredictions: number;
  stopping: boolean;
}

export const monitorStatusQuery = defineQuery<MonitorStatus>('monitorStatus');

/**
 * Watches one endpoint: every window it reads the prediction log (and delayed labels) since the
 * last window, has it judged (skew, drift, prediction drift, performance), fires and resolves
 * alerts, notifies, and applies the policy: roll back, or retrain and canary the new version.
 * Continues as new every `windowsPerRun` windows, carrying offsets and streaks.
 */
export async function driftMonitor(input: DriftMonitorInput): Promise<{ state: 'stopped'; windows: number }> {
  const { config } = input;
  const scope = { projectId: input.projectId, actor: input.actor, workflowId: input.workflowId };
  let stopping = false;
  setHandler(stopMonitorSignal, () => {
    stopping = true;
  });

  let carry: DriftMonitorCarry;
  if (input.carry) carry = input.carry;
  else {
    const offsets = await io.openDriftMonitor({ ...scope, config, endpointId: input.endpointId });
    carry = { sequence: 0, windowStart: new Date(Date.now()).toISOString(), streaks: {}, ...offsets };
  }
  const status: MonitorStatus = {
    sequence: carry.sequence,
    lastWindowEnd: null,
    lastDrifted: false,
    lastPredictions: 0,
    stopping,
  };
  setHandler(monitorStatusQuery, () => ({ ...status, stopping }));

  const windowMs = config.windowSeconds * 1000;
  for (let judged = 0; judged < config.windowsPerRun; judged++) {
    // Windows are anchored to the start, so a slow judgement does not push every later window.
    const due = new Date(carry.windowStart).getTime() + windowMs;
    if (await condition(() => stopping, Math.max(due - Date.now(), 1))) break;
    const windowEnd = new Date(Math.max(Date.now(), due)).toISOString();
    const outcome = await judging.judgeDriftWindow({
      ...scope,
      monitorId: input.monitorId,
      endpointId: input.endpointId,
      sequence: carry.sequence,
      windowStart: carry.windowStart,
      windowEnd,
      predictionOffsets: carry.predictionOffsets,
      labelOffsets: carry.labelOffsets,
      streaks: carry.streaks,
      config,
      remediesAllowed: carry.sequence >= (carry.remedyAllowedFrom ?? 0),
    });
    if (outcome.stopped) return { state: 'stopped', windows: carry.sequence };
    carry = {
      sequence: carry.sequence + 1,
      windowStart: windowEnd,
      predictionOffsets: outcome.predictionOffsets,
      labelOffsets: outcome.labelOffsets,
      streaks: outcome.streaks,
      remedyAllowedFrom:
        outcome.remedies.length > 0 ? carry.sequence + config.remedyCooldownWindows : carry.remedyAllowedFrom,
    };
    Object.assign(status, {
      sequence: carry.sequence,
      lastWindowEnd: windowEnd,
      lastDrifted: outcome.drifted,
      lastPredictions: outcome.predictions,
    });
    for (const notification of outcome.notifications) {
      await notify({ projectId: input.projectId, alertId: notification.alertId, event: notification.event });
    }
    for (const remedy of outcome.remedies) await applyRemedy(input, remedy);
  }
  if (stopping) return { state: 'stopped', windows: carry.sequence };
  return continueAsNew<typeof driftMonitor>({ ...input, carry });
}

/** Notifications run as workflows of their own, so a slow receiver never holds a window back. */
async function notify(notification: AlertNotificationInput): Promise<void> {
  await startOnce(() =>
    startChild(alertNotification, {
      workflowId: `notify-${notification.alertId}-${notification.event}`,
      args: [notification],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    }),
  );
}

async function applyRemedy(input: DriftMonitorInput, remedy: Remedy): Promise<void> {
  const scope = { projectId: input.projectId, actor: 'drift-monitor', workflowId: input.workflowId };
  // Ids derive from the alert: a replayed or retried window starts each remedy once.
  if (remedy.action === 'auto_rollback') {
    const workflowId = `rollback-drift-${remedy.alertId}`;
    await startOnce(() =>
      startChild(rollback, {
        workflowId,
        args: [
          {
            projectId: input.projectId,
            actor: 'drift-monitor',
            workflowId,
            endpointId: input.endpointId,
            reason: remedy.reason,
            activeRolloutWorkflowId: remedy.activeRolloutWorkflowId,
          },
        ],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      }),
    );
    await io.recordRemedy({ ...scope, alertId: remedy.alertId, action: remedy.action, workflowId });
    return;
  }
  let pipeline;
  try {
    pipeline = await io.planDriftRetrain({
      ...scope,
      endpointId: input.endpointId,
      alertId: remedy.alertId,
      policy: input.config.policy,
      reason: remedy.reason,
    });
  } catch (err) {
    // Nothing to retrain (the champion was imported, say): the alert says so and monitoring goes on.
    const error = messageOf(err);
    await io.recordRemedy({
      ...scope,
      alertId: remedy.alertId,
      action: remedy.action,
      workflowId: '',
      error,
    });
    return;
  }
  await startOnce(() =>
    startChild(trainingPipeline, {
      workflowId: pipeline.workflowId,
      taskQueue: input.trainingTaskQueue ?? taskQueues.training,
      args: [pipeline],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    }),
  );
  await io.recordRemedy({
    ...scope,
    alertId: remedy.alertId,
    action: remedy.action,
    workflowId: pipeline.workflowId,
  });
}

async function startOnce(start: () => Promise<unknown>): Promise<void> {
  try {
    await start();
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

function messageOf(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

/** Deliveries retry with backoff for about a day: a receiver that is down for hours still gets the page. */
const delivery = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    maximumAttempts: 150,
    nonRetryableErrorTypes: ['ShepherdError', 'unprocessable', 'not_found'],
  },
});

/**
 * Sends one alert event to every webhook that takes it, each delivery retried on its own. A delivery
 * that gives up is marked failed (visible on the alert), never dropped silently.
 */
export async function alertNotification(
  input: AlertNotificationInput,
): Promise<{ delivered: number; failed: number }> {
  const recipients = await io.alertRecipients(input);
  let delivered = 0;
  let failed = 0;
  await Promise.all(
    recipients.map(async (webhookId) => {
      const key = { projectId: input.projectId, alertId: input.alertId, webhookId, event: input.event };
      try {
        await delivery.deliverAlertNotification(key);
        delivered++;
      } catch (err) {
        failed++;
        await io.markNotificationFailed({ ...key, error: messageOf(err) });
      }
    }),
  );
  if (recipients.length > 0 && delivered === 0) {
    throw ApplicationFailure.nonRetryable(
      `no webhook took ${input.event} of alert ${input.alertId}`,
      'NotificationFailed',
    );
  }
  return { delivered, failed };
}
