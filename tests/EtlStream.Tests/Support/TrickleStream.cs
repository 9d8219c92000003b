using EtlStream.Sources;

namespace EtlStream.Tests.Support;

/// <summary>Returns at most <c>chunk</c> bytes per read, so parsers meet every buffer boundary.</summary>
internal sealed class TrickleStream(byte[] data, int chunk) : ForwardReadStream
{
    private int _pos;

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = Math.Min(Math.Min(count, chunk), data.Length - _pos);
        Array.Copy(data, _pos, buffer, offset, n);
        _pos += n;
        return n;
    }
}
