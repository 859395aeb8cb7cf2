import SwiftUI

/// A box the customer signs with a finger; "Save signature" hands a PNG of
/// the strokes to `onSigned`.
struct SignaturePad: View {
    let onSigned: (Data) -> Void
    @State var strokes: [[CGPoint]] = []
    @State var current: [CGPoint] = []

    var body: some View {
        VStack(alignment: .leading) {
            drawing
                .frame(height: 160)
                .border(.gray)
                .gesture(DragGesture(minimumDistance: 0)
                    .onChanged { current.append($0.location) }
                    .onEnded { _ in strokes.append(current); current = [] })
            HStack {
                Button("Clear") { strokes = [] }
                Button("Save signature") {
                    let renderer = ImageRenderer(content: drawing.frame(width: 320, height: 160).background(.white))
                    if let png = renderer.uiImage?.pngData() { onSigned(png) }
                }
                .disabled(strokes.isEmpty)
            }
        }
    }

    private var drawing: some View {
        Canvas { context, _ in
            for stroke in strokes + [current] where stroke.count > 1 {
                var path = Path()
                path.addLines(stroke)
                context.stroke(path, with: .color(.black), lineWidth: 3)
            }
        }
    }
}
