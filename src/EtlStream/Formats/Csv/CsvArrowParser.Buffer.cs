using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using EtlStream.Memory;

namespace EtlStream.Formats.Csv;

public sealed partial class CsvArrowParser
{
    /// <summary>Moves unread bytes to the front of the buffer, grows it when one record fills it, and reads more.</summary>
    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_eof)
        {
            return;
        }

        var unread = _end - _pos;
        if (_pos > 0 && unread > 0)
        {
            Buffer.BlockCopy(_buffer, _pos, _buffer, 0, unread);
        }

        _pos = 0;
        _end = unread;
        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= _options.MaxRecordBytes)
            {
                throw new CsvFormatException(_source, _line, 1, $"record is longer than max_record_bytes ({_options.MaxRecordBytes:N0} bytes)");
            }

            var bigger = BufferPool.Rent((int)Math.Min((long)_buffer.Length * 2, _options.MaxRecordBytes));
            Buffer.BlockCopy(_buffer, 0, bigger, 0, _end);
            BufferPool.Return(_buffer);
            _buffer = bigger;
        }

        int read;
        try
        {
            read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        }
        catch (DecoderFallbackException) when (_encoding is not null)
        {
            throw new CsvFormatException(_source, _line, 1, $"not valid {_encoding.WebName.ToUpperInvariant()} text at or after this line (an unpaired surrogate or a cut last character)");
        }
        if (read == 0)
        {
            _eof = true;
        }

        _end += read;
    }
}
