/**
 * Who is watching: the household's profiles, sign-in/sign-out and the viewer's consent, driven through the SDK's
 * identity lifecycle (setProfile, identify, reset, optOut/optIn) as a player's account menu would.
 */
import type { IdentityState, Personalizer } from '@marquee/sdk';

const PROFILES = ['default', 'alice', 'bob'] as const;

export function mountProfiles(marquee: Personalizer, onChange: () => Promise<void>): void {
  const root = document.querySelector<HTMLElement>('#account');
  if (!root) return;
  const q = <T extends HTMLElement>(sel: string) => {
    const el = root.querySelector<T>(sel);
    if (!el) throw new Error(`demo: #account has no ${sel}`);
    return el;
  };
  const status = q('#who');
  const form = q<HTMLFormElement>('#sign-in');
  const member = q<HTMLInputElement>('#member-id');
  const signOut = q<HTMLButtonElement>('#sign-out');
  const optOut = q<HTMLInputElement>('#opt-out');
  const keepPersonal = q<HTMLInputElement>('#opt-out-personalize');
  const profiles = q('#profiles');
  profiles.replaceChildren(
    ...PROFILES.map((id) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.profile = id;
      b.textContent = id === 'default' ? 'Main' : id[0]?.toUpperCase() + id.slice(1);
      b.addEventListener('click', () => act(() => marquee.setProfile(id)));
      return b;
    }),
  );

  function show(s: IdentityState) {
    status.textContent = `${s.userId ? `signed in as ${s.userId}` : 'not signed in'} · profile ${s.profileId} · ${s.consent.tracking ? 'tracking on' : 'opted out'}`;
    root!.dataset.profile = s.profileId;
    root!.dataset.user = s.userId ?? '';
    for (const b of profiles.querySelectorAll<HTMLButtonElement>('button')) b.setAttribute('aria-pressed', String(b.dataset.profile === s.profileId));
    form.hidden = s.userId !== undefined;
    signOut.hidden = s.userId === undefined;
    optOut.checked = !s.consent.tracking;
    keepPersonal.disabled = s.consent.tracking;
    keepPersonal.checked = !s.consent.tracking && s.consent.personalization;
  }

  /** One identity change at a time; then the page again, since history and caches may now be another viewer's. */
  let busy: Promise<void> = Promise.resolve();
  function act(change: () => Promise<IdentityState>) {
    busy = busy.then(async () => {
      root!.setAttribute('aria-busy', 'true');
      try {
        show(await change());
        await onChange();
      } catch (err) {
        status.textContent = `could not change: ${(err as Error).message}`;
      } finally {
        root!.setAttribute('aria-busy', 'false');
      }
    });
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const id = member.value.trim();
    if (id) act(() => marquee.identify(id));
  });
  signOut.addEventListener('click', () => act(() => marquee.reset()));
  const consent = () => act(() => (optOut.checked ? marquee.optOut({ personalization: keepPersonal.checked }) : marquee.optIn()));
  optOut.addEventListener('change', consent);
  keepPersonal.addEventListener('change', consent);
  void marquee.identity().then(show);
}
