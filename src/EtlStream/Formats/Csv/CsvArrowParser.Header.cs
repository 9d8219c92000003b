using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using EtlStream.Memory;

namespace EtlStream.Formats.Csv;

public sealed partial class CsvArrowParser
{
    private async ValueTask StartAsync(CancellationToken cancellationToken)
    {
        if (_started)
        {
            return;
        }

        _started = true;
        while (_end < CsvTextEncoding.PeekBytes && !_eof)
        {
            await FillAsync(cancellationToken).ConfigureAwait(false);
        }

        // Told once from the first bytes: UTF-8 input goes on as it is, other encodings through a transcoder.
        var encoding = CsvTextEncoding.Detect(_buffer.AsSpan(_pos, _end - _pos), _source, _options.Encoding, out var bom);
        if (encoding is null)
        {
            _pos += bom;
            _consumedBytes += bom;
        }
        else
        {
            _encoding = encoding;
            _stream = _transcoder = CsvTextEncoding.ToUtf8(_buffer.AsSpan(_pos + bom, _end - _pos - bom).ToArray(), _stream, encoding);
            (_pos, _end, _eof) = (0, 0, false);
        }

        // The first record is read with a growing column set: it fixes the column count.
        _columns = [];
        _lines = BufferPool.Longs.Rent(1);
        while (_rows == 0)
        {
            if (_pos >= _end)
            {
                if (_eof)
                {
                    return; // no record at all: no header, no rows
                }

                await FillAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (!ParseRecords(1, firstRecord: true))
            {
                await FillAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        if (_columns.Length == 1)
        {
            var first = _columns[0].ValueSpan(0);
            foreach (var candidate in "\t;|"u8)
            {
                if (candidate != _delimiter && first.Contains(candidate))
                {
                    OtherDelimiter = candidate;
                    break;
                }
            }
        }

        var names = new string[_columns.Length];
        for (var c = 0; c < names.Length; c++)
        {
            names[c] = _options.HasHeader
                ? Encoding.UTF8.GetString(_columns[c].ValueSpan(0))
                : $"column{c + 1}";
        }

        _header = names;

        // Sized before the first batch from the column count (a 2,048-column file gets far fewer than batch_rows);
        // every later batch is sized from the bytes per row the previous one really had.
        _rowBytes = FixedRowBytes(_columns.Length);
        SetRowCap(_options.BatchBytes / (_rowBytes + ((long)_columns.Length * CellValueEstimate)));
        foreach (var c in _columns)
        {
            c.EnsureValueBytes((int)Math.Min((long)_rowCap * CellValueEstimate, MaxInitialValueBytes));
        }
        if (_options.HasHeader)
        {
            foreach (var c in _columns)
            {
                c.Reset();
            }

            _rows = 0;
            _batchBytes = 0;
        }
    }
}
