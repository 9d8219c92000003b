using System.IO.Hashing;
using EtlStream.Sources;

namespace EtlStream.Compression;

/// <summary>
/// Verifies a zip entry's data against what its header declares: the CRC-32 of the decompressed bytes and their
/// count. Neither ZipArchive nor SharpCompress's forward reader checks them, so an entry whose data was altered (or
/// that decompresses to more than it declares) would otherwise load. A count past the declared size fails at once;
/// the CRC and a short count fail at the end of the entry, or, for an entry whose sizes follow its data (a data
/// descriptor, written by streaming zip writers), when the reader has read that descriptor (<see cref="Verify"/>).
/// </summary>
internal sealed class ZipEntryCheckStream : ForwardReadStream
{
    private readonly Stream _inner;
    private readonly string _name;
    private readonly Crc32 _crc = new();
    private readonly bool _declared;
    private readonly uint _expectedCrc;
    private readonly long _expectedLength;
    private long _length;
    private bool _verified;

    /// <param name="declared">Whether <paramref name="expectedCrc"/> and <paramref name="expectedLength"/> are known before the data.</param>
    public ZipEntryCheckStream(Stream inner, string name, bool declared, uint expectedCrc, long expectedLength)
    {
        _inner = inner;
        _name = name;
        _declared = declared;
        _expectedCrc = expectedCrc;
        _expectedLength = expectedLength;
    }

    /// <summary>Whether the entry was read to its end.</summary>
    public bool Ended { get; private set; }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) => Checked(buffer, _inner.Read(buffer));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Checked(buffer.Span, n);
    }

    private int Checked(ReadOnlySpan<byte> buffer, int n)
    {
        if (n > 0)
        {
            _crc.Append(buffer[..n]);
            _length += n;
            if (_declared && _length > _expectedLength)
            {
                throw SourceReadStream.Named($"{_name}: corrupt zip entry: more data than the {_expectedLength:N0} bytes its header declares");
            }
        }
        else if (!buffer.IsEmpty)
        {
            Ended = true;
            if (_declared)
            {
                Verify(_expectedCrc, _expectedLength);
            }
        }

        return n;
    }

    /// <summary>Checks the data read against the entry's CRC-32 and size, once.</summary>
    public void Verify(uint expectedCrc, long expectedLength)
    {
        if (_verified)
        {
            return;
        }

        _verified = true;
        if (_length != expectedLength)
        {
            throw SourceReadStream.Named($"{_name}: corrupt zip entry: {_length:N0} bytes, its header declares {expectedLength:N0}");
        }

        if (_crc.GetCurrentHashAsUInt32() != expectedCrc)
        {
            throw SourceReadStream.Named($"{_name}: corrupt zip entry: CRC32 mismatch");
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await _inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
