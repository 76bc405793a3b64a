func.func @unknown_type(%x: !clus.tokens) {
  return
}
