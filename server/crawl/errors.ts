// HubError moved to the error catalogue (shared/errors.ts); this name stays for its importers.
export { HubError } from '../../shared/errors.ts';
