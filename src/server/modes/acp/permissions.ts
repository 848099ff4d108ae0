// The `ask` policy of ACP jobs, headless: an agent's permission request waits on the job (its
// `pendingPermissions`) until a person answers it with `POST /jobs/{id}/permissions/{requestId}`,
// or its deadline rejects it.
import { EventEmitter } from 'node:events';
import type { PermissionContext, PermissionDecision } from '../../../acp';
import { BadRequest, HttpError } from '../../errors';
import { sendJson } from '../../http/respond';
import type { RouteSpec } from '../../http/route-spec';
import { bool, error, json, jsonBody, obj, pathParam, str } from '../../http/schema';

/** A request as the job shows it. */
export interface PendingPermission {
  requestId: string;
  toolCallId: string;
  title?: string;
  kind?: string;
  paths: string[];
  options: { optionId: string; name: string; kind: string }[];
  /** Unix seconds. */
  requestedAt: number;
  /** Unix seconds; unanswered by then, it is rejected. */
  deadlineAt: number;
}

interface Waiting {
  info: PendingPermission;
  resolve(decision: PermissionDecision): void;
}

interface JobDesk {
  waiting: Map<string, Waiting>;
  publish(list: PendingPermission[]): void;
  announce(request: PendingPermission): void;
}

/** Emits `request` (jobId, PendingPermission) for each new request, so a host can put it before a person. */
export class PermissionDesk extends EventEmitter {
  private readonly jobs = new Map<string, JobDesk>();

  /**
   * Opens a job's desk: `publish` shows its pending requests (on the job) whenever they change, `announce`
   * tells of each new one (as an event, which wakes long-polls and streams).
   */
  open(jobId: string, publish: (list: PendingPermission[]) => void, announce: (request: PendingPermission) => void): void {
    this.jobs.set(jobId, { waiting: new Map(), publish, announce });
    publish([]);
  }

  /** Closes it: whatever still waits is answered by the client's own cancellation. */
  close(jobId: string): void {
    const desk = this.jobs.get(jobId);
    if (!desk) return;
    this.jobs.delete(jobId);
    desk.publish([]);
  }

  /** Waits for a person; `InteractivePolicy` adds the deadline and the cancellation around this. */
  ask(jobId: string, ctx: PermissionContext, deadlineMs: number): Promise<PermissionDecision> {
    const desk = this.jobs.get(jobId);
    if (!desk) return Promise.resolve({ outcome: 'reject', reason: 'the job takes no answers any more' });
    const now = Date.now() / 1000;
    const info: PendingPermission = {
      requestId: ctx.requestId,
      toolCallId: ctx.toolCall.toolCallId,
      ...(ctx.toolCall.title ? { title: ctx.toolCall.title } : {}),
      ...(ctx.toolCall.kind ? { kind: ctx.toolCall.kind } : {}),
      paths: ctx.paths,
      options: ctx.options.map((o) => ({ optionId: o.optionId, name: o.name, kind: o.kind })),
      requestedAt: now,
      deadlineAt: now + deadlineMs / 1000,
    };
    return new Promise((resolve) => {
      const settle = (d: PermissionDecision) => {
        if (!desk.waiting.delete(info.requestId)) return;
        desk.publish(this.list(jobId));
        resolve(d);
      };
      desk.waiting.set(info.requestId, { info, resolve: settle });
      // The policy resolves the decision itself on deadline or cancel; the entry must leave the job then too.
      ctx.signal.addEventListener('abort', () => settle({ outcome: 'cancelled', reason: 'the turn was cancelled' }), { once: true });
      setTimeout(() => settle({ outcome: 'reject', reason: 'deadline' }), deadlineMs).unref();
      desk.publish(this.list(jobId));
      desk.announce(info);
      this.emit('request', jobId, info);
    });
  }

  list(jobId: string): PendingPermission[] {
    return [...(this.jobs.get(jobId)?.waiting.values() ?? [])].map((w) => w.info);
  }

  /** A person's answer. Throws the HTTP error that says why it cannot be taken. */
  answer(jobId: string, requestId: string, optionId: unknown): { requestId: string; optionId: string; kind: string } {
    const waiting = this.jobs.get(jobId)?.waiting.get(requestId);
    if (!waiting) throw new HttpError(404, `job ${jobId} has no pending permission request ${requestId}`);
    if (typeof optionId !== 'string' || optionId === '') throw new BadRequest('optionId must be a non-empty string', { options: waiting.info.options });
    const option = waiting.info.options.find((o) => o.optionId === optionId);
    if (!option) throw new BadRequest(`optionId "${optionId}" is not one of the offered options`, { options: waiting.info.options });
    waiting.resolve({ optionId, reason: `answered through the API (${option.name})` });
    return { requestId, optionId, kind: option.kind };
  }

  /** `POST /jobs/{id}/permissions/{requestId}`: a person's answer through the API. */
  routes(): RouteSpec[] {
    return [
      {
        method: 'post',
        path: '/jobs/:id/permissions/:requestId',
        auth: 'key',
        doc: {
          summary: 'Answer a pending permission request of an ACP job run with policy "ask"',
          parameters: [pathParam('id'), pathParam('requestId')],
          requestBody: jsonBody(obj({ optionId: str }, ['optionId']), true),
          responses: {
            '200': json(obj({ answered: bool, requestId: str, optionId: str, kind: str }, ['answered', 'requestId', 'optionId', 'kind']), 'answered'),
            '400': error('not one of the offered options'),
            '404': error('no such pending request'),
          },
        },
        handler: (req, res) => {
          const body = req.body ?? {};
          if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('request body must be a JSON object');
          sendJson(res, 200, {
            answered: true,
            ...this.answer(String(req.params.id), String(req.params.requestId), (body as { optionId?: unknown }).optionId),
          });
        },
      },
    ];
  }
}
