# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Frame encode / decode loops, ahead-of-time compiled (layouts: `fastpath.wire.codec`).

Every multi-byte field is written and read in network byte order (big-endian) byte by byte,
so the code is the same on any host. The callers (`codec.encode`, `codec.decode`) size and
validate; these loops trust their arguments: ``buf`` holds every frame at ``offsets``, zeroed
beforehand (payload bytes are zero and never written), and every length was checked.
"""

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

# ---- fixed values of the layouts (documented in codec.py) ----
cdef enum:
    ETH = 14
    VLAN_TAG = 4
    IPV4 = 20
    UDP = 8
    TCP = 20
    ICMP = 8
    GENEVE = 8
    GENEVE_PORT = 6081
    ETHERTYPE_IPV4 = 0x0800
    ETHERTYPE_VLAN = 0x8100
    ETHERTYPE_TEB = 0x6558  # Geneve protocol type: an Ethernet frame inside
    OPTION_CLASS = 0xFF00  # Geneve option class: experimental use (RFC 8926, section 7)
    OPTION_TYPE = 0x01
    OUTER_TTL = 64
    IP_DF = 0x4000

# decode status codes (codec.MALFORMED names them)
cdef enum:
    OK = 0
    M_TRUNCATED = 1
    M_ETHERTYPE = 2
    M_IP_HEADER = 3
    M_IP_LENGTH = 4
    M_IP_CHECKSUM = 5
    M_FRAGMENT = 6
    M_GENEVE = 7
    M_L4_CHECKSUM = 8
    M_OUTER_CHECKSUM = 9


cdef inline void put16(uint8_t* p, uint32_t v) noexcept nogil:
    cdef uint16_t x = <uint16_t>(((v & 0xFF) << 8) | ((v >> 8) & 0xFF))  # big-endian, one store
    memcpy(p, &x, 2)


cdef inline void put32(uint8_t* p, uint32_t v) noexcept nogil:
    cdef uint32_t x = ((v & 0xFF) << 24) | ((v & 0xFF00) << 8) | ((v >> 8) & 0xFF00) | (v >> 24)
    memcpy(p, &x, 4)


cdef inline void put48(uint8_t* p, uint64_t v) noexcept nogil:
    put16(p, <uint32_t>(v >> 32))
    put32(p + 2, <uint32_t>v)


cdef inline uint32_t get16(const uint8_t* p) noexcept nogil:
    return (<uint32_t>p[0] << 8) | p[1]


cdef inline uint32_t get32(const uint8_t* p) noexcept nogil:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3]


cdef inline uint64_t get48(const uint8_t* p) noexcept nogil:
    cdef uint64_t v = 0
    cdef int k
    for k in range(6):
        v = (v << 8) | p[k]
    return v


cdef inline uint32_t csum(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    """The RFC 1071 sum of n bytes as big-endian 16-bit words, folded to 16 bits (odd n: a
    zero byte after the last). For long runs (a whole L4 segment): 8 bytes a load, summed in
    the host's byte order as two 32-bit halves and swapped once at the end — a one's-complement
    sum is the same in either byte order, swapped (RFC 1071, section 2(B))."""
    cdef uint64_t s = 0, t = 0, w, x
    cdef uint32_t w4
    cdef uint16_t one = 1, r, w2
    cdef bint little = (<uint8_t*>&one)[0]
    cdef Py_ssize_t i = 0
    while i + 16 <= n:  # two sums, two loads a step: the adds need not wait on each other
        memcpy(&w, p + i, 8)
        memcpy(&x, p + i + 8, 8)
        s += (w & <uint64_t>0xFFFFFFFFU) + (w >> 32)
        t += (x & <uint64_t>0xFFFFFFFFU) + (x >> 32)
        i += 16
    s += t
    if i + 8 <= n:
        memcpy(&w, p + i, 8)
        s += (w & <uint64_t>0xFFFFFFFFU) + (w >> 32)
        i += 8
    if i + 4 <= n:  # the tail: fixed-size loads (a 16-bit word's value is all that counts)
        memcpy(&w4, p + i, 4)
        s += w4
        i += 4
    if i + 2 <= n:
        memcpy(&w2, p + i, 2)
        s += w2
        i += 2
    if i < n:  # an odd last byte: the high half of a big-endian word padded with zero
        s += p[i] if little else (<uint32_t>p[i] << 8)
    s = (s & <uint64_t>0xFFFFFFFFU) + (s >> 32)
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    r = <uint16_t>((s & 0xFFFF) + (s >> 16))
    if little:  # the sum came out byte-swapped
        r = <uint16_t>((r << 8) | (r >> 8))
    return r


cdef inline uint32_t fold(uint32_t s) noexcept nogil:
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


cdef inline uint32_t pseudo(uint32_t src, uint32_t dst, uint32_t proto, uint32_t l4len) noexcept nogil:
    return (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + proto + l4len


cdef inline uint32_t put_ipv4(uint8_t* p, uint32_t total, uint32_t ident, uint32_t ttl, uint32_t proto,
                              uint32_t src, uint32_t dst) noexcept nogil:
    """An IPv4 header at p; returns the sum of its 16-bit words, checksum included."""
    cdef uint32_t s = (0x4500 + total + ident + IP_DF + ((ttl << 8) | proto) + (src >> 16) + (src & 0xFFFF)
                       + (dst >> 16) + (dst & 0xFFFF))  # the header's 16-bit words, the checksum's 0
    cdef uint32_t c = (~fold(s)) & 0xFFFF
    put16(p, 0x4500)
    put16(p + 2, total)
    put16(p + 4, ident)
    put16(p + 6, IP_DF)
    p[8] = ttl
    p[9] = proto
    put16(p + 10, c)
    put32(p + 12, src)
    put32(p + 16, dst)
    return s + c


cdef Py_ssize_t put_inner(uint8_t* f, uint32_t vlan, uint64_t smac, uint64_t dmac, uint32_t sip, uint32_t dip,
                          uint32_t proto, uint32_t sport, uint32_t dport, uint32_t ttl, uint32_t length,
                          uint32_t ident, uint32_t* wsum) noexcept nogil:
    """Ethernet [802.1Q] IPv4 L4 at f; returns the bytes of headers written (the rest is zero
    payload) and adds the sum of their 16-bit words to ``wsum`` (for a Geneve frame's outer
    UDP checksum). An L4 header longer than the packet leaves room for is cut where the
    packet ends (a 28-byte TCP packet), its checksum over the bytes that are there."""
    cdef Py_ssize_t h = ETH
    cdef uint8_t* ip
    cdef uint8_t l4[TCP]
    cdef uint32_t room, size, fit, s, k
    put48(f, dmac)
    put48(f + 6, smac)
    if vlan:
        put16(f + 12, ETHERTYPE_VLAN)
        put16(f + 14, vlan & 0x0FFF)
        h += VLAN_TAG
    put16(f + h - 2, ETHERTYPE_IPV4)
    wsum[0] += (<uint32_t>(dmac >> 32) & 0xFFFF) + (<uint32_t>(dmac >> 16) & 0xFFFF) + (<uint32_t>dmac & 0xFFFF) \
        + (<uint32_t>(smac >> 32) & 0xFFFF) + (<uint32_t>(smac >> 16) & 0xFFFF) + (<uint32_t>smac & 0xFFFF) \
        + ETHERTYPE_IPV4 + ((ETHERTYPE_VLAN + (vlan & 0x0FFF)) if vlan else 0)
    ip = f + h
    wsum[0] += put_ipv4(ip, length, ident, ttl, proto, sip, dip)
    room = length - IPV4
    if proto == 17 and room >= UDP:  # the common case, from the fields
        s = fold(pseudo(sip, dip, 17, room) + sport + dport + room)
        s = (~s) & 0xFFFF
        s = s if s else 0xFFFF  # 0 would mean "no checksum"
        put16(ip + IPV4, sport)
        put16(ip + IPV4 + 2, dport)
        put16(ip + IPV4 + 4, room)
        put16(ip + IPV4 + 6, s)
        wsum[0] += sport + dport + room + s
        return h + IPV4 + UDP
    for k in range(TCP):
        l4[k] = 0
    if proto == 17:
        size = UDP
        put16(l4, sport)
        put16(l4 + 2, dport)
        put16(l4 + 4, room)
    elif proto == 6:
        size = TCP
        put16(l4, sport)
        put16(l4 + 2, dport)
        put32(l4 + 4, 1)  # sequence number
        put32(l4 + 8, 1)  # acknowledgment number
        l4[12] = 0x50  # data offset: 5 words
        l4[13] = 0x18  # PSH, ACK
        put16(l4 + 14, 65535)  # window
    elif proto == 1:
        size = ICMP
        l4[0] = 8  # echo request, code 0
        put16(l4 + 4, sport)  # identifier
        put16(l4 + 6, dport)  # sequence number
    else:
        return h + IPV4
    fit = size if room >= size else room
    s = csum(l4, fit)
    if proto != 1:
        s += pseudo(sip, dip, proto, room)
    s = (~fold(s)) & 0xFFFF
    if proto == 17:
        put16(l4 + 6, s if s else 0xFFFF)  # 0 would mean "no checksum"
    elif proto == 6:
        put16(l4 + 16, s)
    else:
        put16(l4 + 2, s)
    for k in range(fit):
        ip[IPV4 + k] = l4[k]
    wsum[0] += csum(l4, fit)
    return h + IPV4 + fit


def encode_frames(uint8_t[::1] buf, const int64_t[::1] offsets, const uint16_t[::1] vlan,
                  const uint64_t[::1] src_mac, const uint64_t[::1] dst_mac, const uint32_t[::1] src_ip,
                  const uint32_t[::1] dst_ip, const uint8_t[::1] proto, const uint16_t[::1] sport,
                  const uint16_t[::1] dport, const uint8_t[::1] ttl, const uint16_t[::1] length,
                  const uint16_t[::1] ip_id, const uint8_t[::1] encap, const uint64_t[::1] outer_src_mac,
                  const uint64_t[::1] outer_dst_mac, const uint32_t[::1] outer_src_ip,
                  const uint32_t[::1] outer_dst_ip, const uint16_t[::1] outer_sport, const uint32_t[::1] vni,
                  const uint8_t[::1] opt_bytes, const uint32_t[::1] opt_data, bint zero_payload):
    """Write every frame's headers into ``buf``; the payload bytes too (zeros) when
    ``zero_payload`` (a reused buffer), else they are taken to be zero already."""
    cdef Py_ssize_t n = vlan.shape[0], i, hdr
    cdef uint8_t* f
    cdef uint8_t* ip
    cdef uint8_t* udp
    cdef uint8_t* gen
    cdef uint32_t inner_len, opt, udp_len, s, words
    with nogil:
        for i in range(n):
            f = &buf[0] + offsets[i]
            words = 0
            if not encap[i]:
                hdr = put_inner(f, vlan[i], src_mac[i], dst_mac[i], src_ip[i], dst_ip[i], proto[i], sport[i],
                                dport[i], ttl[i], length[i], ip_id[i], &words)
                if zero_payload:
                    memset(f + hdr, 0, offsets[i + 1] - offsets[i] - hdr)
                continue
            opt = opt_bytes[i]
            inner_len = <uint32_t>(offsets[i + 1] - offsets[i]) - (ETH + IPV4 + UDP + GENEVE + opt)
            udp_len = UDP + GENEVE + opt + inner_len
            put48(f, outer_dst_mac[i])
            put48(f + 6, outer_src_mac[i])
            put16(f + 12, ETHERTYPE_IPV4)
            ip = f + ETH
            put_ipv4(ip, IPV4 + udp_len, 0, OUTER_TTL, 17, outer_src_ip[i], outer_dst_ip[i])
            udp = ip + IPV4
            put16(udp, outer_sport[i])
            put16(udp + 2, GENEVE_PORT)
            put16(udp + 4, udp_len)
            gen = udp + UDP
            gen[0] = opt // 4  # version 0, option length in 4-byte words
            gen[1] = 0  # O and C flags, reserved
            put16(gen + 2, ETHERTYPE_TEB)
            put32(gen + 4, vni[i] << 8)  # VNI, then a reserved byte
            if opt:
                put16(gen + 8, OPTION_CLASS)
                gen[10] = OPTION_TYPE
                gen[11] = (opt - 4) // 4  # option data length in 4-byte words
                if opt >= 8:
                    put32(gen + 12, opt_data[i])
                if zero_payload and opt > 8:
                    memset(gen + 16, 0, opt - 8)  # the option's data after the port
            hdr = put_inner(gen + GENEVE + opt, vlan[i], src_mac[i], dst_mac[i], src_ip[i], dst_ip[i], proto[i],
                            sport[i], dport[i], ttl[i], length[i], ip_id[i], &words)
            if zero_payload:  # every header byte is written above: only the inner payload is left
                hdr += ETH + IPV4 + UDP + GENEVE + opt
                memset(f + hdr, 0, offsets[i + 1] - offsets[i] - hdr)
            # the outer UDP checksum covers everything after it: summed from the fields (the
            # inner frame's zeros add nothing), as the bytes would sum
            words += outer_sport[i] + GENEVE_PORT + udp_len + ((opt // 4) << 8) + ETHERTYPE_TEB \
                + (vni[i] >> 8) + ((vni[i] & 0xFF) << 8)
            if opt:
                words += OPTION_CLASS + ((OPTION_TYPE << 8) | ((opt - 4) // 4))
                if opt >= 8:
                    words += (opt_data[i] >> 16) + (opt_data[i] & 0xFFFF)
            s = (~fold(pseudo(outer_src_ip[i], outer_dst_ip[i], 17, udp_len) + fold(words))) & 0xFFFF
            put16(udp + 6, s if s else 0xFFFF)


def frame_sizes(const uint16_t[::1] vlan, const uint16_t[::1] length, const uint8_t[::1] encap,
                const uint8_t[::1] opt_bytes, const uint32_t[::1] vni, int64_t[::1] offsets):
    """Fill offsets[1:] with the frames' running end (offsets[0] is the start); returns
    (-1, 0), or (i, code) for the first frame no wire can carry: 1 an IPv4 total length below
    20, 2 a VID above 4095, 3 Geneve options not 0 or 4..252 in 4s or a VNI above 24 bits,
    4 an outer IPv4 packet above 65535 bytes."""
    cdef Py_ssize_t n = vlan.shape[0], i, bad = -1
    cdef int64_t size, at = offsets[0]
    cdef uint32_t opt
    cdef int code = 0
    with nogil:
        for i in range(n):
            size = ETH + length[i] + (VLAN_TAG if vlan[i] else 0)
            if length[i] < IPV4:
                code = 1
            elif vlan[i] > 4095:
                code = 2
            elif encap[i]:
                opt = opt_bytes[i]
                if opt % 4 or opt > 252 or (opt and opt < 4) or vni[i] > 0xFFFFFF:
                    code = 3
                elif IPV4 + UDP + GENEVE + opt + size > 0xFFFF:
                    code = 4
                size += ETH + IPV4 + UDP + GENEVE + opt
            if code:
                bad = i
                break
            at += size
            offsets[i + 1] = at
    return bad, code


cdef int parse_eth(const uint8_t* f, Py_ssize_t cap, Py_ssize_t orig, Py_ssize_t* at, uint32_t* vlan,
                   uint64_t* smac, uint64_t* dmac, uint32_t* sip, uint32_t* dip, uint32_t* proto,
                   uint32_t* ttl, uint32_t* total, Py_ssize_t* l4) noexcept nogil:
    """Ethernet [802.1Q] IPv4 at f (cap bytes captured of orig on the wire): the status, and
    the fields; ``l4`` the offset of the L4 header."""
    cdef Py_ssize_t h = ETH
    cdef uint32_t et, ihl
    if cap < ETH:
        return M_TRUNCATED
    dmac[0] = get48(f)
    smac[0] = get48(f + 6)
    et = get16(f + 12)
    vlan[0] = 0
    if et == ETHERTYPE_VLAN:
        if cap < ETH + VLAN_TAG:
            return M_TRUNCATED
        vlan[0] = get16(f + 14) & 0x0FFF
        et = get16(f + 16)
        h += VLAN_TAG
    if et != ETHERTYPE_IPV4:
        return M_ETHERTYPE
    if cap < h + IPV4:
        return M_TRUNCATED
    if f[h] >> 4 != 4 or (f[h] & 0x0F) < 5:
        return M_IP_HEADER
    ihl = (f[h] & 0x0F) * 4
    if cap < h + ihl:
        return M_TRUNCATED
    total[0] = get16(f + h + 2)
    if total[0] < ihl or total[0] > orig - h:
        return M_IP_LENGTH
    if fold(csum(f + h, ihl)) != 0xFFFF:
        return M_IP_CHECKSUM
    if get16(f + h + 6) & 0x3FFF:  # more fragments, or an offset
        return M_FRAGMENT
    ttl[0] = f[h + 8]
    proto[0] = f[h + 9]
    sip[0] = get32(f + h + 12)
    dip[0] = get32(f + h + 16)
    at[0] = h
    l4[0] = h + ihl
    return OK


cdef inline Py_ssize_t l4_span(const uint8_t* f, Py_ssize_t at, uint32_t tot, Py_ssize_t l4,
                               uint32_t proto) noexcept nogil:
    """The bytes from f + l4 that the L4 checksum of the IPv4 packet at f + at (total length
    tot) covers, 0 when it carries none to check: UDP with checksum 0, a protocol without one,
    an L4 header cut before its checksum field. The real L4 length: the IPv4 payload, or for
    UDP its own length field when that fits inside it. The caller checks they were captured."""
    cdef Py_ssize_t n = <Py_ssize_t>tot - (l4 - at)
    cdef uint32_t ulen
    if proto == 17:
        if n < UDP or get16(f + l4 + 6) == 0:
            return 0
        ulen = get16(f + l4 + 4)
        return ulen if UDP <= ulen <= n else n
    if proto == 6:
        return n if n >= 18 else 0
    if proto == 1:
        return n if n >= 4 else 0
    return 0


cdef inline bint l4_ok(uint32_t s, uint32_t proto, uint32_t sip, uint32_t dip, Py_ssize_t n) noexcept nogil:
    """Whether ``s``, the sum (`csum`) of the n bytes a checksum covers, checks out: with the
    pseudo-header for TCP and UDP."""
    if proto != 1:
        s += pseudo(sip, dip, proto, <uint32_t>n)
    return fold(s) == 0xFFFF


def decode_frames(const uint8_t[::1] buf, const int64_t[::1] start, const uint32_t[::1] caplen,
                  const uint32_t[::1] orig_len, uint8_t[::1] status, uint16_t[::1] vlan, uint64_t[::1] src_mac,
                  uint64_t[::1] dst_mac, uint32_t[::1] src_ip, uint32_t[::1] dst_ip, uint8_t[::1] proto,
                  uint16_t[::1] sport, uint16_t[::1] dport, uint8_t[::1] ttl, uint16_t[::1] length,
                  uint8_t[::1] encap, uint32_t[::1] vni, uint32_t[::1] outer_src_ip, uint32_t[::1] outer_dst_ip,
                  uint8_t[::1] unverified, bint verify):
    """Decode every frame; a Geneve frame (UDP to 6081, version 0, Ethernet inside) decodes to
    its inner frame, with the VNI and the TEPs. Fields of a malformed frame are unspecified.
    ``verify``: check the L4 checksums too (`l4_span`; a Geneve frame's outer UDP one first,
    whatever the inner frame holds), a wrong one makes the frame malformed; ``unverified[i]``
    is 1 where the capture cut a frame before the end of a checksum's coverage."""
    cdef Py_ssize_t n = start.shape[0], i, at, l4, cap, orig, g, on, ln
    cdef const uint8_t* f
    cdef const uint8_t* ou
    cdef uint32_t v, p, t, tot, sa, da, optlen, st, osa, oda, si, si2
    cdef uint64_t sm, dm
    with nogil:
        for i in range(n):
            f = &buf[0] + start[i]
            cap = caplen[i]
            orig = orig_len[i]
            encap[i] = 0
            unverified[i] = 0
            vni[i] = 0
            outer_src_ip[i] = 0
            outer_dst_ip[i] = 0
            v = p = t = tot = sa = da = 0
            sm = dm = 0
            at = l4 = 0
            on = 0  # a Geneve frame's outer UDP checksum to check: its span from ou
            ou = f
            osa = oda = 0
            st = parse_eth(f, cap, orig, &at, &v, &sm, &dm, &sa, &da, &p, &t, &tot, &l4)
            g = l4 + UDP
            # Geneve: UDP to 6081 carrying version 0 and an Ethernet frame; other UDP to 6081 is
            # just UDP
            if (st == OK and p == 17 and cap >= g + GENEVE and get16(f + l4 + 2) == GENEVE_PORT
                    and f[g] >> 6 == 0 and get16(f + g + 2) == ETHERTYPE_TEB):
                optlen = (f[g] & 0x3F) * 4
                if g + GENEVE + optlen > at + tot:
                    st = M_GENEVE
                else:
                    if verify:
                        on = l4_span(f, at, tot, l4, 17)
                        if on and cap < l4 + on:  # cut by the snaplen: cannot be checked
                            unverified[i] = 1
                            on = 0
                        ou = f + l4
                        osa = sa
                        oda = da
                    encap[i] = 1
                    vni[i] = get32(f + g + 4) >> 8
                    outer_src_ip[i] = sa
                    outer_dst_ip[i] = da
                    g += GENEVE + optlen
                    f = f + g
                    cap -= g
                    orig -= g
                    st = parse_eth(f, cap, orig, &at, &v, &sm, &dm, &sa, &da, &p, &t, &tot, &l4)
            if st == OK:
                sport[i] = 0
                dport[i] = 0
                if p == 17 or p == 6:
                    if cap < l4 + 4 or tot < l4 - at + 4:
                        st = M_TRUNCATED
                    else:
                        sport[i] = get16(f + l4)
                        dport[i] = get16(f + l4 + 2)
                elif p == 1:
                    if cap < l4 + ICMP or tot < l4 - at + ICMP:
                        st = M_TRUNCATED
                    else:
                        sport[i] = get16(f + l4 + 4)
                        dport[i] = get16(f + l4 + 6)
            if verify:
                ln = l4_span(f, at, tot, l4, p) if st == OK else 0
                if ln and cap < l4 + ln:
                    unverified[i] = 1
                    ln = 0
                si = csum(f + l4, ln) if ln else 0
                if on:  # the outer UDP checksum first; it covers the inner L4 bytes just summed
                    # when they end where it does (both start at even offsets: the sums add up)
                    if ln and f + l4 + ln == ou + on:
                        si2 = csum(ou, (f + l4) - ou) + si
                    else:
                        si2 = csum(ou, on)
                    if not l4_ok(si2, 17, osa, oda, on):
                        st = M_OUTER_CHECKSUM
                if ln and st == OK and not l4_ok(si, p, sa, da, ln):
                    st = M_L4_CHECKSUM
            status[i] = st
            vlan[i] = v
            src_mac[i] = sm
            dst_mac[i] = dm
            src_ip[i] = sa
            dst_ip[i] = da
            proto[i] = p
            ttl[i] = t
            length[i] = tot
