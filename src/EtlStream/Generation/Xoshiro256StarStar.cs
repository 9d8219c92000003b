namespace EtlStream.Generation;

/// <summary>
/// xoshiro256** seeded through SplitMix64: a fixed algorithm, so generated data stays byte-identical across runtimes
/// (unlike <see cref="Random"/>). Mutable struct: keep it in a field or pass it by reference.
/// </summary>
internal struct Xoshiro256StarStar
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    public Xoshiro256StarStar(ulong seed)
    {
        _s0 = SplitMix64(ref seed);
        _s1 = SplitMix64(ref seed);
        _s2 = SplitMix64(ref seed);
        _s3 = SplitMix64(ref seed);
    }

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, <paramref name="exclusiveMax"/>) by Lemire's multiply-high (bias below 2^-32 for our ranges).</summary>
    public int Next(int exclusiveMax) => (int)Math.BigMul(NextUInt64(), (ulong)exclusiveMax, out _);

    /// <summary>Uniform in [<paramref name="min"/>, <paramref name="inclusiveMax"/>].</summary>
    public int Next(int min, int inclusiveMax) => min + Next(inclusiveMax - min + 1);

    /// <summary>True with probability <paramref name="perMille"/>/1000.</summary>
    public bool Chance(int perMille) => Next(1000) < perMille;

    private static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
