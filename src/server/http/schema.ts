// Small builders of OpenAPI schema fragments, shared by every resource's route descriptions.
import { AUTH_ERROR } from '../auth';

export type Schema = Record<string, unknown>;

export const str = { type: 'string' };
export const int = { type: 'integer' };
export const num = { type: 'number' };
export const bool = { type: 'boolean' };

export const obj = (properties: Record<string, Schema>, required: string[] = []): Schema =>
  required.length > 0 ? { type: 'object', properties, required } : { type: 'object', properties };
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
/** A JSON response. */
export const json = (schema: Schema, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
/** A JSON request body. */
export const jsonBody = (schema: Schema, required = false) => ({ ...(required ? { required } : {}), content: { 'application/json': { schema } } });
/** An error response: `{"error": "..."}`. */
export const error = (description: string) => json(ref('Error'), description);
/** The 401 of a route behind the key (route-spec.ts adds it to every `auth: 'key'` route). */
export const unauthorized = { '401': error(AUTH_ERROR) };
export const pathParam = (name: string, schema: Schema = str) => ({ name, in: 'path', required: true, schema });
export const queryParam = (name: string, description: string, schema: Schema = str, required = false) => ({
  name,
  in: 'query',
  required,
  schema,
  description,
});
export const headerParam = (name: string, description: string, schema: Schema = str) => ({ name, in: 'header', schema, description });
