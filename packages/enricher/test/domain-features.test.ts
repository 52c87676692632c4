import { domainFeatures } from '../src/domain/features';

describe('domain features', () => {
  it('splits www.example.co.uk on the Public Suffix List', () => {
    expect(domainFeatures('www.example.co.uk')).toEqual({
      registeredDomain: 'example.co.uk',
      topLevelDomain: 'co.uk',
      subdomain: 'www',
      labelCount: 4,
      longestLabel: 7,
      nameLength: 17,
      // Shannon entropy of "wwwexamplecouk": 14 characters, w x3, e/o x2 ... = 3.3249 bits
      entropy: expect.closeTo(3.3249, 3) as number,
      digitRatio: 0,
    });
  });

  it('has no subdomain for a registered domain itself', () => {
    expect(domainFeatures('example.com')).toMatchObject({
      registeredDomain: 'example.com',
      topLevelDomain: 'com',
      subdomain: null,
    });
  });

  it('knows punycode (IDN) suffixes and keeps names in their wire form', () => {
    // xn--p1ai is .рф; xn--fiqs8s is .中国
    expect(domainFeatures('mail.xn--80ak6aa92e.xn--p1ai')).toMatchObject({
      registeredDomain: 'xn--80ak6aa92e.xn--p1ai',
      topLevelDomain: 'xn--p1ai',
      subdomain: 'mail',
      labelCount: 3,
      longestLabel: 14,
    });
    expect(domainFeatures('www.xn--fiqs8s').topLevelDomain).toBe('xn--fiqs8s');
  });

  it('gives single-label names no registered domain, suffix or subdomain', () => {
    for (const name of ['localhost', 'wpad', 'redis']) {
      expect(domainFeatures(name)).toMatchObject({
        registeredDomain: null,
        topLevelDomain: null,
        subdomain: null,
        labelCount: 1,
        longestLabel: name.length,
        nameLength: name.length,
      });
    }
  });

  it('uses the default rule for unlisted suffixes such as the cluster domain', () => {
    expect(domainFeatures('checkout.shop.svc.cluster.local')).toMatchObject({
      registeredDomain: 'cluster.local',
      topLevelDomain: 'local',
      subdomain: 'checkout.shop.svc',
      labelCount: 5,
    });
  });

  it('uses the private section of the list only when asked', () => {
    expect(domainFeatures('user.github.io').registeredDomain).toBe('github.io');
    expect(domainFeatures('user.github.io', { privateDomains: true }).registeredDomain).toBe(
      'user.github.io',
    );
  });

  it('measures digits and entropy over the label characters', () => {
    const reverse = domainFeatures('4.3.2.1.in-addr.arpa');
    expect(reverse.topLevelDomain).toBe('in-addr.arpa');
    // 4 digits among 15 label characters (4 + in-addr + arpa)
    expect(reverse.digitRatio).toBeCloseTo(4 / 15);

    const dga = domainFeatures('xk7q9zt2mv4w8p.com');
    const word = domainFeatures('facebookmail.com');
    expect(dga.entropy).toBeGreaterThan(word.entropy);
    expect(domainFeatures('aaaa.aa').entropy).toBe(0);
  });

  it('describes the root name as empty', () => {
    expect(domainFeatures('.')).toEqual({
      registeredDomain: null,
      topLevelDomain: null,
      subdomain: null,
      labelCount: 0,
      longestLabel: 0,
      nameLength: 0,
      entropy: 0,
      digitRatio: 0,
    });
  });
});
