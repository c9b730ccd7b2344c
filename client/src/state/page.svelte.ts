// The contributor page's state: the nickname form, this tab as a worker, and the
// live board. Components render it and call its methods; nothing else decides.
import { BoardState } from './board.svelte.ts';
import { Volunteer } from './volunteer.svelte.ts';
import type { CrowdcrawlPageApi } from '../../../shared/page-api.ts';
import { checkNickname, loadClientId, loadNickname, loadSettings, saveNickname, NICKNAME_MAX_LENGTH } from '../lib/identity.ts';
import type { PageMode } from '../lib/mode.ts';
import type { ProtocolError } from '../../../shared/protocol.ts';

export class ContributorPage {
  readonly mode: PageMode;
  readonly volunteer: Volunteer;
  readonly board: BoardState;
  readonly nicknameMaxLength = NICKNAME_MAX_LENGTH;
  /** The nickname field as typed. */
  nickname = $state('');
  nicknameError = $state<string | null>(null);
  stopping = $state(false);

  constructor(mode: PageMode) {
    this.mode = mode;
    this.board = new BoardState();
    // The hub may show the tab under another name than asked ("alice (2)"), or refuse the nickname.
    const naming = {
      onNamed: (name: string) => this.board.identify(this.volunteer.clientId, name),
      onNameRefused: (error: ProtocolError) => (this.nicknameError = error.message),
    };
    if (mode.kind === 'headless') {
      this.volunteer = new Volunteer({
        kind: 'headless',
        clientId: mode.clientId,
        settings: { concurrency: mode.concurrency, minDelayMs: mode.minDelayMs, pauseWhenHidden: false },
        persist: false,
        ...naming,
        ...(mode.token ? { token: mode.token } : {}),
      });
      this.nickname = mode.name;
    } else {
      this.volunteer = new Volunteer({ kind: 'tab', clientId: loadClientId(), settings: loadSettings(), persist: true, ...naming });
      this.nickname = loadNickname();
    }
    // A returning volunteer sees their all-time totals before pressing the button.
    const known = checkNickname(this.nickname);
    if (known.ok) this.board.identify(this.volunteer.clientId, known.name);
  }

  /** Said when the hub shows this tab under another name than the nickname asked for. */
  get renamedNote(): string | null {
    const v = this.volunteer;
    if (!v.contributing || v.askedName === '' || v.name === v.askedName) return null;
    return `"${v.askedName}" is taken on this hub, so you are shown as "${v.name}".`;
  }

  /** True when the hub speaks a newer protocol than this page: only a reload helps. */
  get outdated(): boolean {
    return this.volunteer.state === 'outdated' || this.board.connection === 'outdated';
  }

  contribute(): boolean {
    const checked = checkNickname(this.nickname);
    if (!checked.ok) {
      this.nicknameError = checked.message;
      return false;
    }
    this.nicknameError = null;
    this.nickname = checked.name;
    if (this.mode.kind === 'tab') saveNickname(checked.name);
    this.board.identify(this.volunteer.clientId, checked.name);
    this.volunteer.start(checked.name);
    return true;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    try {
      await this.volunteer.stop();
    } finally {
      this.stopping = false;
    }
  }

  /** For automation (`crowdcrawl workers`, tests): `window.crowdcrawl`. */
  api(): CrowdcrawlPageApi {
    return {
      status: () => this.volunteer.status(),
      stop: () => this.stop(),
      boardSelf: () => (this.board.self ? { ...this.board.self } : null),
    };
  }
}

